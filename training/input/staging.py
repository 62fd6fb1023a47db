"""Where a run reads its dataset and writes its folder: `open_staging(spec)` chooses, by the
spec's URIs, once.

- `LocalStaging`: local paths (or `file://` URIs) are used as they are.
- `S3Staging`: when a URI is `s3://`, the run works on local disk all the same, in a scratch
  folder: the dataset is downloaded into it, the run folder is written there and `publish`
  uploads it to `output_uri` at the end (result.json last). Its client is `storage.client()`:
  on Batch, the job's own credentials, limited to its dataset and run folder.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

from common.files import path_from_uri
from contract.jobs import JobSpec, Limits, PredictionSpec
from training.aws import storage
from training.errors import InputError
from training.input.limits import check_size


class Staging(Protocol):
    """The local side of one run's input and output."""

    run_dir: Path  # the run folder on this disk, where the run writes its files

    def dataset_path(self) -> Path:
        """The dataset as a local file."""
        ...

    def location(self, relative: str) -> str:
        """Where a file of the run folder ends up: a local path or an s3:// URI."""
        ...

    def publish(self, *, last: str) -> None:
        """Put the run folder where `output_uri` says, the file `last` after every other."""
        ...

    def close(self) -> None:
        """Remove what the staging made for itself (its scratch folder)."""
        ...


def open_staging(spec: JobSpec | PredictionSpec, *, s3: Any = None) -> Staging:
    """`S3Staging` when the dataset or the run folder is in S3, else `LocalStaging`."""
    if storage.is_s3(spec.dataset_uri) or storage.is_s3(spec.output_uri):
        return S3Staging(spec, s3=s3)
    return LocalStaging(spec)


class LocalStaging:
    """Everything on this disk: the dataset is read and the run folder written in place."""

    def __init__(self, spec: JobSpec | PredictionSpec) -> None:
        self._dataset_uri = spec.dataset_uri
        self.run_dir = path_from_uri(spec.output_uri)

    def dataset_path(self) -> Path:
        return path_from_uri(self._dataset_uri)

    def location(self, relative: str) -> str:
        return str(self.run_dir / relative)

    def publish(self, *, last: str) -> None:
        pass  # the run folder is already where it was asked for

    def close(self) -> None:
        pass


class S3Staging:
    """A run that reads or writes S3, on local disk in a scratch folder that `close` removes.

    The job's usual case has both URIs in S3; either may be local, and is then used as it is.
    """

    def __init__(self, spec: JobSpec | PredictionSpec, *, s3: Any = None) -> None:
        self._spec = spec
        self._s3 = s3
        self._scratch: Path | None = None
        self._output: storage.S3Location | None = None
        if storage.is_s3(spec.output_uri):
            self._output = storage.S3Location.parse(spec.output_uri)
            self.run_dir = self._scratch_dir() / "run"
        else:
            self.run_dir = path_from_uri(spec.output_uri)
        self._dataset_in_s3 = storage.is_s3(spec.dataset_uri)

    def dataset_path(self) -> Path:
        """The dataset, downloaded first when it is in S3."""
        if not self._dataset_in_s3:
            return path_from_uri(self._spec.dataset_uri)
        directory = self._scratch_dir() / "dataset"
        spec = self._spec
        return fetch_dataset(
            spec.dataset_uri, directory, spec.file_name, spec.limits, self._client()
        )

    def location(self, relative: str) -> str:
        if self._output is None:
            return str(self.run_dir / relative)
        return str(self._output.child(relative))

    def publish(self, *, last: str) -> None:
        """Upload the run folder when the output is in S3."""
        if self._output is not None:
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
