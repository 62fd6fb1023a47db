"""S3 in and out: read an object, download one to disk, upload a folder.

boto3 is imported here only, and only when a URI is `s3://`, so local runs never load it.
Credentials: on Batch, the job's own, limited to its dataset and run folder
(training/aws/credentials.py); elsewhere boto3's default chain (the Lambda's role, a
person's profile). boto3 honours `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3` (the tests
point it at moto).
"""

from __future__ import annotations

import logging
import mimetypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract import environment as env
from training.aws import credentials

log = logging.getLogger(__name__)

S3_SCHEME = "s3://"
# Error codes S3 answers for a key or bucket that is not there (HEAD has no body: bare 404).
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NoSuchBucket", "NotFound"})
# What S3 answers for a missing key to a caller without s3:ListBucket: the job's own scoped
# credentials have none (listing would show every job's file names), and may read every key
# the job asks for, so under them a refusal means the object is not there.
_FORBIDDEN_CODES = frozenset({"403", "AccessDenied"})


class ObjectNotFound(Exception):
    """No object at that S3 URI (or no such bucket)."""

    def __init__(self, uri: str) -> None:
        super().__init__(f"there is no object at {uri}")
        self.uri = uri


def is_s3(uri: str) -> bool:
    return uri.startswith(S3_SCHEME)


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        if not is_s3(uri):
            raise ValueError(f"not an s3:// URI: {uri}")
        bucket, _, key = uri.removeprefix(S3_SCHEME).partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {uri}")
        return cls(bucket, key)

    def child(self, relative: str) -> S3Location:
        prefix = self.key.rstrip("/")
        return S3Location(self.bucket, f"{prefix}/{relative}" if prefix else relative)

    def __str__(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.key}"


def client() -> Any:
    import boto3
    from botocore.config import Config

    # Standard retries back off on throttling and 5xx; five tries ride out a short blip.
    config = Config(retries={"mode": "standard", "max_attempts": 5})
    session = credentials.job_session()
    return (session or boto3).client("s3", config=config)


def read_bytes(uri: str, *, s3: Any = None) -> bytes:
    """A small object's content (the spec). Raises ObjectNotFound."""
    where = S3Location.parse(uri)
    with _not_found_as(uri):
        response = (s3 or client()).get_object(Bucket=where.bucket, Key=where.key)
    return bytes(response["Body"].read())


def size_of(uri: str, *, s3: Any = None) -> int:
    """The object's size in bytes. Raises ObjectNotFound."""
    where = S3Location.parse(uri)
    with _not_found_as(uri):
        response = (s3 or client()).head_object(Bucket=where.bucket, Key=where.key)
    return int(response["ContentLength"])


def download(uri: str, destination: Path, *, s3: Any = None) -> Path:
    """Stream the object to `destination` (ranged, parallel parts for big files)."""
    where = S3Location.parse(uri)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with _not_found_as(uri):
        (s3 or client()).download_file(where.bucket, where.key, str(destination))
    return destination


def download_url(url: str, destination: Path, *, max_bytes: int, timeout_s: float = 30) -> int:
    """Stream a presigned https GET to `destination`; stops past `max_bytes`. Returns the size.

    Raises ObjectNotFound on 403/404 (an expired link reads as a missing copy).
    """
    import urllib.error
    import urllib.request

    if not url.startswith(("https://", "http://")):  # http: a local S3 stand-in in tests
        raise ValueError("a dataset URL must be http(s)")
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        response = urllib.request.urlopen(url, timeout=timeout_s)
    except urllib.error.HTTPError as error:
        if error.code in (403, 404):
            raise ObjectNotFound(url.partition("?")[0]) from None
        raise
    declared = int(response.headers.get("Content-Length") or 0)
    if declared > max_bytes:
        response.close()
        return declared
    size = 0
    with response, destination.open("wb") as out:
        while chunk := response.read(1024 * 1024):
            size += len(chunk)
            if size > max_bytes:
                break  # the caller's size check words the refusal
            out.write(chunk)
    return size


def upload_folder(folder: Path, uri: str, *, last: str, s3: Any = None) -> list[str]:
    """Upload every file below `folder` to the prefix `uri`, the file `last` after all others.

    Whoever reads `last` (result.json) may then fetch anything it names. Returns the keys.
    """
    s3 = s3 or client()
    prefix = S3Location.parse(uri)
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    files.sort(key=lambda path: path.relative_to(folder).as_posix() == last)  # stable
    keys = []
    for path in files:
        target = prefix.child(path.relative_to(folder).as_posix())
        s3.upload_file(str(path), target.bucket, target.key, ExtraArgs=_put_args(path))
        keys.append(target.key)
    log.info("uploaded %d files to %s", len(keys), uri)
    return keys


def _put_args(path: Path) -> dict[str, str]:
    # The bucket encrypts by default too; asking per object keeps it true under any bucket.
    kms_key = os.environ.get(env.S3_KMS_KEY_ID, "").strip()
    args = (
        {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key}
        if kms_key
        else {"ServerSideEncryption": "AES256"}
    )
    # A presigned link to report.html must open as a page, not download as octet-stream.
    content_type, _ = mimetypes.guess_type(path.name)
    if path.suffix == ".jsonl":
        content_type = "application/x-ndjson"
    if content_type:
        args["ContentType"] = content_type
    return args


@contextmanager
def _not_found_as(uri: str) -> Iterator[None]:
    """S3's "no such key/bucket" errors become ObjectNotFound; other errors pass unchanged."""
    from botocore.exceptions import ClientError

    missing = _MISSING_CODES | (_FORBIDDEN_CODES if credentials.scoped() else frozenset())
    try:
        yield
    except ClientError as error:
        if str(error.response.get("Error", {}).get("Code", "")) in missing:
            raise ObjectNotFound(uri) from error
        raise
