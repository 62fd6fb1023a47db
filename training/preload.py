"""Heavy imports in the background while a cold job does its I/O.

A job on AWS starts in a fresh container: it downloads the spec and the dataset from S3 and
imports pandas, scikit-learn, LightGBM, XGBoost and FLAML (seconds each on a small task).
The two can overlap. The importing thread is joined before the job prepares the data, so
nothing forks (the EDA report) while it may still hold an import lock.
"""

from __future__ import annotations

import threading

_thread: threading.Thread | None = None


def start_background_imports() -> None:
    global _thread  # noqa: PLW0603  (one importer per process)
    if _thread is not None:
        return
    from training.warm_worker import PRELOAD, preload

    _thread = threading.Thread(target=preload, args=(PRELOAD,), name="preload-imports", daemon=True)
    _thread.start()


def wait_for_imports() -> None:
    """Join the importing thread, if one was started (a no-op in a warm worker's fork)."""
    if _thread is not None:
        _thread.join()
