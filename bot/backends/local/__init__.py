"""The local backend: SQLite job store, artifact directory, subprocess runner.

With `AUTOML_WARM_WORKER=on` (the default) the launcher keeps a warm worker (warm_start.py)
that forks jobs with the heavy imports done; it starts with the launcher (`automl serve`,
`socket`, `shell`) and stops with it.
"""

from __future__ import annotations

from bot.backends.local.artifacts import LocalArtifactStore
from bot.backends.local.job_store import SqliteJobStore
from bot.backends.local.previewer import SubprocessPreviewer
from bot.backends.local.sweeper import Sweeper
from bot.links import LinkSigner
from bot.ports import Backend
from bot.settings import Settings


def build_local_backend(settings: Settings, *, link_key: bytes) -> Backend:
    # Imported here, not above: the aws backend uses this package's artifact and job stores
    # on Lambda, whose bundle has no `training` package (the launcher's warm worker is there).
    from bot.backends.local.launcher import LocalLauncher
    from bot.backends.local.warm_start import WarmWorker, warm_start_supported

    root = settings.data_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    jobs = SqliteJobStore(settings.db_path)
    memory_mb = settings.job_memory_mb
    warm = None
    if settings.warm_worker and warm_start_supported():
        warm = WarmWorker(root, memory_mb=memory_mb)
    artifacts = LocalArtifactStore(
        root,
        signer=LinkSigner(link_key),
        public_url=settings.public_url,
        link_expiry_s=settings.link_expiry_s,
    )
    sweeper = Sweeper(
        jobs,
        artifacts,
        expiry_days=settings.run_expiry_days,
        keep_datasets=settings.keep_datasets,
    )
    sweeper.start()
    return Backend(
        name="local",
        jobs=jobs,
        artifacts=artifacts,
        workers=[sweeper],
        launcher=LocalLauncher(
            jobs,
            root,
            max_concurrent=settings.max_concurrent_jobs,
            warm_worker=warm,
            memory_mb=memory_mb,
        ),
        previewer=SubprocessPreviewer(
            limits=settings.input_limits(),
            memory_mb=memory_mb,
            max_concurrent=settings.max_concurrent_previews,
        ),
    )
