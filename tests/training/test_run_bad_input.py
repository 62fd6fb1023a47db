"""Every bad-input case ends in a failed result.json with a code, a message and a hint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contract.jobs import JobResult, Limits
from tests.training import tables
from training.run import RunOptions, run_job

NO_EXTRAS = RunOptions(charts=False, report=False, handle_signals=False)


def _run(make_spec, data: Path, target: str, **overrides) -> JobResult:
    spec = make_spec(data, target, **overrides)
    result = run_job(spec, NO_EXTRAS)
    on_disk = JobResult.model_validate_json(Path(spec.output_uri, "result.json").read_text())
    assert on_disk == result
    events = [
        json.loads(line) for line in Path(spec.output_uri, "events.jsonl").read_text().splitlines()
    ]
    assert events[0]["type"] == "started"
    assert events[-1]["type"] == "finished"
    assert events[-1]["status"] == result.status
    return result


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def _random_table(path: Path, rows: int, **columns) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=rows), **columns})
    frame.to_csv(path, index=False)
    return path


CASES = {
    "empty_file": lambda d: (_write(d / "empty.csv", ""), "y", {}),
    "not_a_table": lambda d: (
        _write(d / "login.csv", "<!DOCTYPE html><html><body>Sign in to Slack</body></html>"),
        "y",
        {},
    ),
    "target_not_found": lambda d: (tables.iris(d / "iris.csv"), "specie", {}),
    "target_single_value": lambda d: (_random_table(d / "t.csv", 50, y=["same"] * 50), "y", {}),
    "too_few_rows": lambda d: (_random_table(d / "t.csv", 8, y=["a", "b"] * 4), "y", {}),
    "too_many_classes": lambda d: (
        _random_table(d / "t.csv", 60, y=[f"n{i % 40}" for i in range(60)]),
        "y",
        {},
    ),
    "no_usable_features": lambda d: (
        _write(d / "t.csv", "id,const,y\n" + "".join(f"{i},1,{'ab'[i % 2]}\n" for i in range(50))),
        "y",
        {},
    ),
    "file_too_large": lambda d: (
        tables.iris(d / "iris.csv"),
        "species",
        {"limits": Limits(max_file_mb=0.001)},
    ),
    "too_many_columns": lambda d: (
        tables.iris(d / "iris.csv"),
        "species",
        {"limits": Limits(max_columns=3)},
    ),
    "unknown_metric": lambda d: (tables.iris(d / "iris.csv"), "species", {"metric": "rmse"}),
    "column_not_found": lambda d: (
        tables.iris(d / "iris.csv"),
        "species",
        {"exclude_columns": ["petal width"]},
    ),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_bad_input_gives_a_clear_failed_result(code: str, tmp_path: Path, make_spec) -> None:
    data, target, overrides = CASES[code](tmp_path)
    result = _run(make_spec, data, target, **overrides)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.code == code
    assert result.error.message and result.error.hint
    assert "Traceback" not in result.model_dump_json()


def test_target_not_found_suggests_the_closest_column(tmp_path: Path, make_spec) -> None:
    result = _run(make_spec, tables.iris(tmp_path / "iris.csv"), "Specis")
    assert result.error is not None
    assert "“species”" in result.error.hint


def test_a_bug_is_an_internal_error_without_traceback(
    tmp_path: Path, make_spec, monkeypatch
) -> None:
    from training.pipeline import prepare

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(prepare, "prepare_data", broken)
    spec = make_spec(tables.iris(tmp_path / "iris.csv"), "species")
    result = run_job(spec, NO_EXTRAS)
    assert result.error is not None
    assert result.error.code == "internal_error"
    assert "secret internals" not in result.model_dump_json()
    assert "secret internals" in Path(spec.output_uri, "run.log").read_text()
