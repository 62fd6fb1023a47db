"""Where a run reads its dataset and writes its folder, whatever the spec's URIs are.

Local paths are used as they are. For `s3://` URIs the run works on local disk all the same:
the dataset is downloaded into a scratch folder, the run folder is written there, and
`publish` uploads it to `output_uri` at the end (result.json last).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from training import storage
from training.contracts import JobSpec, Limits
from training.errors import InputError


def local_path(uri: str) -> Path:
    """The local file behind a plain path or a `file://` URI."""
    if uri.startswith("file://"):
        return Path(uri.removeprefix("file://"))
    if "://" in uri:
        raise ValueError(f"not a local path: {uri}")
    return Path(uri)


class Staging:
    """The local side of one run's input and output; `close` removes its scratch folder."""

    def __init__(self, spec: JobSpec, *, s3: Any = None) -> None:
        self._spec = spec
        self._s3 = s3
        self._scratch: Path | None = None
        if storage.is_s3(spec.output_uri):
            self.run_dir = self._scratch_dir() / "run"
        else:
            self.run_dir = local_path(spec.output_uri)

    def location(self, relative: str) -> str:
        """Where a file of the run folder ends up: an s3:// URI or a local path."""
        if storage.is_s3(self._spec.output_uri):
            return str(storage.S3Location.parse(self._spec.output_uri).child(relative))
        return str(self.run_dir / relative)

    def dataset_path(self) -> Path:
        """The dataset as a local file, downloaded first if it is in S3."""
        uri = self._spec.dataset_uri
        if not storage.is_s3(uri):
            return local_path(uri)
        directory = self._scratch_dir() / "dataset"
        return fetch_dataset(
            uri, directory, self._spec.file_name, self._spec.limits, self._client()
        )

    def publish(self, *, last: str) -> None:
        """Upload the run folder when the output is in S3 (`last` after every other file)."""
        if storage.is_s3(self._spec.output_uri):
            storage.upload_folder(self.run_dir, self._spec.output_uri, last=last, s3=self._client())

    def close(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def _client(self) -> Any:
        if self._s3 is None:  # one client for the download and the upload
            self._s3 = storage.client()
        return self._s3

    def _scratch_dir(self) -> Path:
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix=f"automl-{self._spec.job_id}-"))
        return self._scratch


def fetch_dataset(
    uri: str, directory: Path, file_name: str, limits: Limits, s3: Any = None
) -> Path:
    """Download an s3:// dataset into `directory`; a missing or too large object is bad input.

    The size is checked before the download, so a huge file never fills the disk (a Lambda's
    /tmp is small); `read_table` checks it again, with the same message, for local files.
    """
    from training.reading import check_size

    name = Path(storage.S3Location.parse(uri).key).name or "dataset"
    try:
        check_size(storage.size_of(uri, s3=s3), file_name, limits.max_file_mb)
        return storage.download(uri, directory / name, s3=s3)
    except storage.ObjectNotFound:
        raise InputError(
            "unreadable_file",
            f"I couldn't open `{file_name}`: the stored copy is missing.",
            "Share the file again; if it keeps happening, tell whoever runs the bot.",
        ) from None
