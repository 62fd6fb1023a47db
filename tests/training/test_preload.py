"""Heavy imports overlap a cold job's downloads and are done before the job prepares data."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest


@pytest.mark.slow  # a fresh interpreter that imports the training stack
def test_background_imports_finish_before_the_job_needs_them() -> None:
    code = (
        "import sys, threading\n"
        "from training.preload import start_background_imports, wait_for_imports\n"
        "start_background_imports()\n"
        "assert any(t.name == 'preload-imports' for t in threading.enumerate())\n"
        "wait_for_imports()\n"
        "assert 'lightgbm' in sys.modules and 'flaml' in sys.modules\n"
        "assert not any(t.name == 'preload-imports' for t in threading.enumerate())\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_waiting_without_a_background_import_returns_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from training import preload

    monkeypatch.setattr(preload, "_thread", None)  # as in a warm worker's fork
    started = time.monotonic()
    preload.wait_for_imports()
    assert time.monotonic() - started < 0.5
    assert preload._thread is None  # waiting starts no import of its own
