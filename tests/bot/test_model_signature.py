"""Models are code: `automl predict` unpickles only a model this installation signed, and the
bot signs each model's SHA-256 when its job ends (bot/model_signature.py)."""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
from pathlib import Path

import pytest

from bot import cli
from bot.model_signature import (
    derive_model_key,
    file_sha256,
    local_key,
    local_key_path,
    signature,
    signed_sha256,
)
from bot.ports import JobEnding
from contract import exit_codes
from tests.bot.test_notifier import World, w
from tests.builders import make_result

__all__ = ["w"]


class _Boom:
    """Unpickling this creates the marker file: proof that unpickling happened."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (str(self.marker), "w")


def _run_folder(tmp_path: Path) -> tuple[Path, Path, Path]:
    run, marker = tmp_path / "run", tmp_path / "MARKER"
    run.mkdir()
    (run / "model.joblib").write_bytes(pickle.dumps(_Boom(marker)))
    data = tmp_path / "new.csv"
    data.write_text("a,b\n1,2\n")
    return run, data, marker


def _predict(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    parsed = cli._parser().parse_args(["predict", *args])
    code = parsed.handler(parsed)
    return code, capsys.readouterr().err


def _sign(run: Path, sha256: str, key: bytes) -> None:
    (run / "model.sig").write_bytes(signature("job-1", sha256, key))


def test_an_unsigned_model_is_refused_before_unpickling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, data, marker = _run_folder(tmp_path)
    code, err = _predict(capsys, str(run), str(data))
    assert code == exit_codes.BAD_INPUT
    assert "not signed by this installation" in err and "--trust-unsigned" in err
    assert "Traceback" not in err
    assert not marker.exists()


def test_a_tampered_model_is_refused_before_unpickling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, data, marker = _run_folder(tmp_path)
    key = local_key(create=True)
    assert key is not None
    _sign(run, hashlib.sha256(b"the model the run made").hexdigest(), key)
    code, err = _predict(capsys, str(run), str(data))
    assert code == exit_codes.BAD_INPUT
    assert "has changed since its run signed it" in err
    assert not marker.exists()


def test_a_signature_by_another_key_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, data, marker = _run_folder(tmp_path)
    _sign(run, file_sha256(run / "model.joblib"), b"someone else's key, 32 bytes...")
    code, err = _predict(capsys, str(run), str(data))
    assert code == exit_codes.BAD_INPUT and "made with another key" in err
    assert not marker.exists()


def test_a_signed_model_is_loaded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run, data, marker = _run_folder(tmp_path)
    key = local_key(create=True)
    assert key is not None
    _sign(run, file_sha256(run / "model.joblib"), key)
    code, err = _predict(capsys, str(run), str(data))
    assert marker.exists()  # unpickled: the signature held (then it is no model of ours)
    assert code == exit_codes.BAD_INPUT and "does not hold a model" in err


def test_the_bots_signature_is_accepted_with_its_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run, data, marker = _run_folder(tmp_path)
    _sign(run, file_sha256(run / "model.joblib"), derive_model_key("bot-secret"))
    assert _predict(capsys, str(run), str(data))[0] == exit_codes.BAD_INPUT
    assert not marker.exists()
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "bot-secret")
    _predict(capsys, str(run), str(data))
    assert marker.exists()


def test_trust_unsigned_is_an_explicit_override(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, data, marker = _run_folder(tmp_path)
    _predict(capsys, str(run), str(data), "--trust-unsigned")
    assert marker.exists()


def test_the_local_key_is_private() -> None:
    key = local_key(create=True)
    assert key is not None and len(key) == 32
    assert stat.S_IMODE(os.stat(local_key_path()).st_mode) == 0o600
    assert local_key(create=True) == key


def test_the_bot_signs_the_model_when_its_job_ends(w: World) -> None:
    key = derive_model_key("bot-secret")
    events = w.another_bot()
    events._model_key = key  # as bot.runtime builds it
    run = w.artifacts.run_dir(w.job.job_id)
    run.mkdir(parents=True, exist_ok=True)
    (run / "model.joblib").write_bytes(b"model bytes")
    digest = file_sha256(run / "model.joblib")
    result = make_result(w.job)
    result.artifacts.model_sha256 = digest
    w.write_result(result)
    w.lifecycle.start(w.job.job_id)
    events.job_ended(w.job.job_id, JobEnding(exit_code=0))
    assert signed_sha256((run / "model.sig").read_bytes(), [key]) == digest
