"""The disk full mid-run: the person is told the disk is full, in a sentence, not a traceback.

Two places can notice: the job, when a write fails with ENOSPC but result.json still fits
(it says `disk_full`), and the local launcher, when the job could not even write its result
(it looks at the free space of the run folder's disk). The launcher's test mounts a small
tmpfs as the runs folder, as root may; elsewhere it is skipped.
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.messages.failure import DISK_FULL
from contract.jobs import INTERNAL_ERROR_CODE
from contract.run_folder import RESULT_FILE
from tests.bot.test_launcher import Recorder, World, wait_until
from tests.builders import make_spec
from training.errors import DISK_FULL_CODE
from training.run import RunOptions, _Run, run_job

TMPFS_MB = 32  # above the launcher's threshold (8 MB free), so a crash alone is not "full"

# A job that writes until the disk refuses, then dies of it (a traceback, exit 1), as a
# training process does when its model or result no longer fits; "crash" dies without filling.
FILLING_JOB = """
import sys
from pathlib import Path
from contract.jobs import JobSpec
spec = JobSpec.model_validate_json(Path(sys.argv[1]).read_bytes())
run = Path(spec.output_uri)
if (run / "crash").exists():
    raise RuntimeError("boom")
with (run / "model.joblib").open("wb") as model:
    while True:
        model.write(b"x" * 65536)
        model.flush()
"""


def test_the_job_says_the_disk_is_full_when_a_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stages(self: _Run) -> None:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as error:  # wrapped, as joblib and others re-raise
            raise RuntimeError("could not save the model") from error

    monkeypatch.setattr(_Run, "_stages", stages)
    spec = make_spec(dataset_uri=str(tmp_path / "x.csv"), output_uri=str(tmp_path / "run"))

    result = run_job(spec, RunOptions(report=False, charts=False, handle_signals=False))

    assert result.status == "failed" and result.error is not None
    assert result.error.code == DISK_FULL_CODE
    assert "disk" in result.error.message and "full" in result.error.message
    assert "free some space" in result.error.hint
    assert (tmp_path / "run" / RESULT_FILE).is_file()


def test_another_failure_is_still_an_internal_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stages(self: _Run) -> None:
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(_Run, "_stages", stages)
    spec = make_spec(dataset_uri=str(tmp_path / "x.csv"), output_uri=str(tmp_path / "run"))
    result = run_job(spec, RunOptions(report=False, charts=False, handle_signals=False))
    assert result.error is not None and result.error.code == INTERNAL_ERROR_CODE


@pytest.fixture
def full_disk_world(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    world.script.write_text(FILLING_JOB)
    runs = world.data_root / "runs"
    runs.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m", "tmpfs", str(runs)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        world.close()
        pytest.skip("cannot mount a tmpfs here (needs root): " + mounted.stderr.decode())
    try:
        yield world
    finally:
        world.close()
        subprocess.run(["umount", "-l", str(runs)], check=False)


@pytest.mark.slow
def test_a_job_that_filled_the_disk_is_told_so(full_disk_world: World) -> None:
    world = full_disk_world
    events = Recorder()
    launcher = world.launcher(events, max_concurrent=2)
    filled, filled_spec = world.job()
    crashed, crashed_spec = world.job("crash")

    launcher.submit(crashed, crashed_spec)
    wait_until(lambda: crashed.job_id in events.ended)
    launcher.submit(filled, filled_spec)
    wait_until(lambda: filled.job_id in events.ended)

    assert events.ended[filled.job_id].detail == DISK_FULL
    assert "Traceback" not in events.ended[filled.job_id].detail
    # A crash with room left on the disk is not blamed on the disk.
    assert events.ended[crashed.job_id].detail != DISK_FULL
