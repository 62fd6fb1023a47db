"""`LocalArtifactStore`: the local backend's artifact store, one directory.

Layout under `root`::

    datasets/<job_id>/<safe file name>   the uploaded table, as fetched from Slack
    runs/<job_id>/...                    everything the training job writes

- Job ids are checked against `contract.jobs.JOB_ID_PATTERN` before they touch a path.
- Uploads stream into a temporary file next to the target and are renamed into place only
  when complete and within the size limit; a failed or oversized upload leaves nothing.
- `resolve` is what the link-serving web route calls: it refuses paths that leave the run
  folder (including through symlinks) and anything that is not an existing regular file.

Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from bot.errors import FileTooLarge
from bot.links import LinkSigner, UnsafePath, check_job_id, normalize_artifact_path
from common.files import replacing, write_atomically
from contract.jobs import JobResult, JobSpec, PredictionSpec
from contract.run_folder import DATASETS_DIR, MODEL_SIGNATURE_FILE, RESULT_FILE, RUNS_DIR, SPEC_FILE

_UNSAFE_NAME_CHARS: Final = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME_CHARS: Final = 128
_DEFAULT_NAME: Final = "dataset"


class TooLarge(FileTooLarge):
    """A stream went past its byte limit; nothing was kept."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            f"The file is larger than the bot's limit of {max_bytes / 1024 / 1024:.0f} MB.",
            "Share a sample of the rows, or ask whoever runs the bot to raise AUTOML_MAX_FILE_MB.",
        )
        self.max_bytes = max_bytes


class UnsafeArtifactPath(UnsafePath):
    """A path that would leave the run folder."""


class ArtifactNotFound(FileNotFoundError):
    """No such regular file in the run folder."""


def safe_file_name(file_name: str) -> str:
    """A file name that is one harmless path segment, keeping the extension where possible."""
    base = re.split(r"[/\\]", file_name or "")[-1].replace("\x00", "")
    cleaned = _UNSAFE_NAME_CHARS.sub("_", base).lstrip(".")
    if not cleaned.strip("_"):
        return _DEFAULT_NAME
    if len(cleaned) > _MAX_NAME_CHARS:
        stem, dot, suffix = cleaned.rpartition(".")
        if dot and 0 < len(suffix) <= 16 and stem:
            cleaned = f"{stem[: _MAX_NAME_CHARS - len(suffix) - 1]}.{suffix}"
        else:
            cleaned = cleaned[:_MAX_NAME_CHARS]
    return cleaned


class LocalArtifactStore:
    """The `ArtifactStore` port on one directory; links are served by the bot's web app."""

    def __init__(
        self,
        root: Path,
        *,
        signer: LinkSigner | None = None,
        public_url: str = "http://localhost:3000",
        link_expiry_s: int = 24 * 3600,
    ) -> None:
        self.root = Path(root)
        self.signer = signer
        self.public_url = public_url.rstrip("/")
        self.link_expiry_s = link_expiry_s

    # ---- the ArtifactStore port ---------------------------------------------------------

    def save_dataset(
        self, job_id: str, file_name: str, chunks: Iterable[bytes], max_bytes: int
    ) -> str:
        return str(self.write_stream(job_id, file_name, chunks, max_bytes).resolve())

    def output_uri(self, job_id: str) -> str:
        return str(self.run_dir(job_id).resolve())

    def save_spec(self, spec: JobSpec | PredictionSpec) -> str:
        # Whole or absent: the launcher's restart recovery trusts a spec.json it sees.
        return self._save_json(spec.job_id, SPEC_FILE, spec.model_dump_json(indent=2))

    def save_result(self, result: JobResult) -> str:
        return self._save_json(result.job_id, RESULT_FILE, result.model_dump_json(indent=2))

    def discard_dataset(self, job_id: str) -> None:
        folder = self.dataset_path(job_id, "x").parent
        shutil.rmtree(folder, ignore_errors=True)

    def load_result(self, job_id: str) -> JobResult | None:
        path = self.run_dir(job_id) / RESULT_FILE
        try:
            return JobResult.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return None

    def save_model_signature(self, job_id: str, record: bytes) -> None:
        self._save_json(job_id, MODEL_SIGNATURE_FILE, record.decode("utf-8"))

    def read_bytes(self, job_id: str, relative_path: str) -> bytes:
        return self.resolve(job_id, relative_path).read_bytes()

    def link(self, job_id: str, relative_path: str) -> str:
        if self.signer is None:
            raise RuntimeError("this artifact store was built without a link signer")
        return self.public_url + self.signer.sign(job_id, relative_path, self.link_expiry_s)

    def _save_json(self, job_id: str, name: str, text: str) -> str:
        run = self.run_dir(job_id)
        run.mkdir(parents=True, exist_ok=True)
        path = run / name
        write_atomically(path, text)
        return str(path.resolve())

    # ---- retention (bot/backends/local/sweeper.py) ---------------------------------------

    def stored_ids(self) -> set[str]:
        """The job ids (and preview holders) with a dataset or run folder."""
        ids: set[str] = set()
        for kind in (DATASETS_DIR, RUNS_DIR):
            folder = self.root / kind
            if folder.is_dir():
                ids.update(entry.name for entry in folder.iterdir() if entry.is_dir())
        return ids

    def has_dataset(self, job_id: str) -> bool:
        return (self.root / DATASETS_DIR / check_job_id(job_id)).is_dir()

    def last_changed(self, job_id: str) -> float:
        """The newest modification time (epoch s) of anything stored for `job_id`."""
        newest = 0.0
        for kind in (DATASETS_DIR, RUNS_DIR):
            folder = self.root / kind / check_job_id(job_id)
            for path in (folder, *folder.rglob("*")) if folder.is_dir() else ():
                with contextlib.suppress(OSError):
                    newest = max(newest, path.lstat().st_mtime)
        return newest

    def delete_job(self, job_id: str) -> None:
        """Everything stored for `job_id`: its dataset and its run folder."""
        self.discard_dataset(job_id)
        shutil.rmtree(self.run_dir(job_id), ignore_errors=True)

    # ---- layout ---------------------------------------------------------------------------

    def run_dir(self, job_id: str) -> Path:
        """`<root>/runs/<job_id>` (not created)."""
        return self.root / RUNS_DIR / check_job_id(job_id)

    def dataset_path(self, job_id: str, file_name: str) -> Path:
        """`<root>/datasets/<job_id>/<safe name>` (not created)."""
        return self.root / DATASETS_DIR / check_job_id(job_id) / safe_file_name(file_name)

    def write_stream(
        self, job_id: str, file_name: str, chunks: Iterable[bytes], max_bytes: int
    ) -> Path:
        """Write `chunks` to the job's dataset path atomically; `TooLarge` past `max_bytes`.

        Reading stops at the first chunk that crosses the limit. On any failure the
        temporary file is removed, and so is the job's dataset folder if this call made it.
        """
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        target = self.dataset_path(job_id, file_name)
        folder = target.parent
        created = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        try:
            with replacing(target) as temp:
                # Readable by this user alone, as the person's data should be.
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as out:
                    written = 0
                    for chunk in chunks:
                        written += len(chunk)
                        if written > max_bytes:
                            raise TooLarge(max_bytes)
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
        except BaseException:
            if created:
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise
        return target

    def deliver(self, job_id: str, relative_path: str) -> Path:
        """What the bot's link route sends for one of this store's links: the file itself."""
        return self.resolve(job_id, relative_path)

    def resolve(self, job_id: str, relative_path: str) -> Path:
        """The real path of an existing regular file inside the job's run folder.

        `UnsafeArtifactPath` for anything that leaves the folder (by `..`, absolute paths,
        backslashes, NUL, percent-encoding or a symlink); `ArtifactNotFound` otherwise.
        """
        run = self.run_dir(job_id)
        try:
            relative = normalize_artifact_path(relative_path)
        except (UnsafePath, UnicodeDecodeError) as exc:
            raise UnsafeArtifactPath(str(exc)) from None
        try:
            real_run = run.resolve(strict=True)
            real = (run / relative).resolve(strict=True)
        except (FileNotFoundError, NotADirectoryError):
            raise ArtifactNotFound(f"no artifact {relative!r} for job {job_id}") from None
        except (OSError, RuntimeError) as exc:  # symlink loops and the like
            raise UnsafeArtifactPath(str(exc)) from None
        if not real.is_relative_to(real_run) or real == real_run:
            raise UnsafeArtifactPath(f"{relative!r} leaves the run folder of job {job_id}")
        if not real.is_file():
            raise ArtifactNotFound(f"{relative!r} is not a file")
        return real
