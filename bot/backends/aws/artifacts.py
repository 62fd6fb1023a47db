"""`S3ArtifactStore`: the aws backend's artifact store, one private S3 bucket.

Layout (the same as the local data folder)::

    s3://<bucket>/datasets/<job_id>/<safe file name>   the table, as fetched from Slack
    s3://<bucket>/runs/<job_id>/...                    everything the training job writes

- Uploads stream: chunks are gathered into parts of `part_size` bytes and sent as one
  multipart upload, so the bot's Lambda never holds more than a part. A file smaller than one
  part is a single PUT. Past `max_bytes`, or on any error, the multipart upload is aborted:
  S3 shows nothing of it, and an object already at that key stays as it was.
- Every PUT asks for server-side encryption (the bucket policy may insist on the header).
- Links are the bot's own (`bot.links`): `<public_url>/artifacts/<job_id>/<path>?expires=…&sig=…`,
  signed with the key derived from the Slack signing secret, valid `link_expiry_s`. They do
  not depend on the credentials of whoever made them (an S3 presigned URL dies with the
  Lambda session that signed it). The bot's link route checks them and asks `deliver`:
  a report or chart up to `inline_max_bytes` is sent through the Lambda under the route's
  Content-Security-Policy sandbox; anything larger, and every other file (the model), is a
  302 to a presigned GET made at that moment, valid `DOWNLOAD_EXPIRY_S` and always a
  download, so nothing ever opens as a page of the bucket's origin (S3 sends no CSP).

Standard library, botocore's exceptions and the contract models only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Final

from botocore.exceptions import ClientError

from bot.backends.local.artifacts import (
    ArtifactNotFound,
    TooLarge,
    UnsafeArtifactPath,
    safe_file_name,
)
from bot.links import (
    MAX_EXPIRES_IN_S,
    InlineContent,
    LinkSigner,
    RedirectTo,
    UnsafePath,
    check_job_id,
    normalize_artifact_path,
)
from contract.aws import DATASETS_PREFIX, JOB_COST_FILE, RUNS_PREFIX
from contract.jobs import JobResult, JobSpec, PredictionSpec
from contract.run_folder import MODEL_SIGNATURE_FILE, RESULT_FILE, SPEC_FILE

log = logging.getLogger(__name__)

MIN_PART_SIZE: Final = 5 * 1024 * 1024  # S3's minimum for every part but the last
DEFAULT_PART_SIZE: Final = 8 * 1024 * 1024
DEFAULT_SSE: Final = "AES256"  # SSE-S3; "aws:kms" for a KMS-encrypted bucket

# A Lambda behind API Gateway answers with at most 6 MB. The bot handler sends pages
# base64-encoded (4/3 of the file); the rest is room for the headers and the JSON envelope.
LAMBDA_RESPONSE_LIMIT: Final = 6_000_000
INLINE_MAX_BYTES: Final = (LAMBDA_RESPONSE_LIMIT - 64 * 1024) * 3 // 4
# How long a download the link route redirects to stays valid: long enough to start it.
DOWNLOAD_EXPIRY_S: Final = 300
# Sent through the link route (which adds the CSP sandbox), when small enough; never from S3.
_SHOWN_SUFFIXES: Final = (".html", ".htm", ".png", ".jpg", ".jpeg")
_NOT_FOUND: Final = frozenset({"NoSuchKey", "404", "NotFound"})


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` -> `(bucket, key)`; ValueError for anything else."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise ValueError(f"an s3:// URI needs a bucket and a key: {uri!r}")
    return bucket, key


def is_not_found(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _NOT_FOUND


class S3ArtifactStore:
    """The `bot.ports.ArtifactStore` port on S3. Thread-safe (boto3 clients are)."""

    def __init__(
        self,
        bucket: str,
        *,
        s3_client: Any,
        signer: LinkSigner | None = None,
        public_url: str = "http://localhost:3000",
        link_expiry_s: int = 24 * 3600,
        inline_max_bytes: int = INLINE_MAX_BYTES,
        part_size: int = DEFAULT_PART_SIZE,
        sse: str = DEFAULT_SSE,
        kms_key_id: str | None = None,
    ) -> None:
        if not bucket:
            raise ValueError("bucket is empty")
        if isinstance(link_expiry_s, bool) or not 0 < link_expiry_s <= MAX_EXPIRES_IN_S:
            raise ValueError(f"link_expiry_s must be in 1..{MAX_EXPIRES_IN_S}")
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's limit)")
        self.bucket = bucket
        self.s3 = s3_client
        self.signer = signer
        self.public_url = public_url.rstrip("/")
        self.link_expiry_s = link_expiry_s
        self.inline_max_bytes = inline_max_bytes
        self.part_size = part_size
        self._encryption: dict[str, str] = {"ServerSideEncryption": sse}
        if kms_key_id:
            self._encryption["SSEKMSKeyId"] = kms_key_id

    # ---- the ArtifactStore port ---------------------------------------------------------

    def save_dataset(
        self, job_id: str, file_name: str, chunks: Iterable[bytes], max_bytes: int
    ) -> str:
        key = self.dataset_key(job_id, file_name)
        self._upload_stream(key, chunks, max_bytes)
        return self._uri(key)

    def output_uri(self, job_id: str) -> str:
        return self._uri(self.run_prefix(job_id))

    def save_spec(self, spec: JobSpec | PredictionSpec) -> str:
        key = f"{self.run_prefix(spec.job_id)}/{SPEC_FILE}"
        self._put_json(key, spec.model_dump_json(indent=2))
        return self._uri(key)

    def save_result(self, result: JobResult) -> str:
        key = f"{self.run_prefix(result.job_id)}/{RESULT_FILE}"
        self._put_json(key, result.model_dump_json(indent=2))
        return self._uri(key)

    def discard_dataset(self, job_id: str) -> None:
        prefix = f"{DATASETS_PREFIX}{check_job_id(job_id)}/"
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:  # a page holds at most 1,000 keys, DeleteObjects' limit too
                self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})

    def delete_job(self, job_id: str) -> None:
        """Everything stored for `job_id`: its dataset and its run folder."""
        self.discard_dataset(job_id)
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.run_prefix(job_id)}/"):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})

    def load_result(self, job_id: str) -> JobResult | None:
        try:
            data = self._get(f"{self.run_prefix(job_id)}/{RESULT_FILE}")
        except ArtifactNotFound:
            return None
        return JobResult.model_validate_json(data)

    def save_model_signature(self, job_id: str, record: bytes) -> None:
        self._put_json(f"{self.run_prefix(job_id)}/{MODEL_SIGNATURE_FILE}", record.decode("utf-8"))

    def save_cost(self, job_id: str, record: str) -> None:
        """What the job cost (bot/cost.py's JSON), kept beside its results for `/automl cost`."""
        self._put_json(f"{self.run_prefix(job_id)}/{JOB_COST_FILE}", record)

    def read_bytes(self, job_id: str, relative_path: str) -> bytes:
        return self._get(self.artifact_key(job_id, relative_path))

    def link(self, job_id: str, relative_path: str) -> str:
        self.artifact_key(job_id, relative_path)  # refuses a path that leaves the run
        if self.signer is None:
            raise RuntimeError("this artifact store was built without a link signer")
        return self.public_url + self.signer.sign(job_id, relative_path, self.link_expiry_s)

    # ---- the link route (bot.links.LinkedArtifacts) -------------------------------------

    def deliver(self, job_id: str, relative_path: str) -> InlineContent | RedirectTo:
        """What the link route sends: a small report or chart itself, else a fresh download.

        `ArtifactNotFound` when the run has no such file.
        """
        key = self.artifact_key(job_id, relative_path)
        name = key.rpartition("/")[2]
        if name.lower().endswith(_SHOWN_SUFFIXES):
            response = self._get_object(key)
            body = response["Body"]
            try:  # a report too large is not read: closing drops the rest of the stream
                if int(response["ContentLength"]) <= self.inline_max_bytes:
                    return InlineContent(name=name, data=body.read())
            finally:
                body.close()
        else:
            self._head(key)
        return RedirectTo(self.download_url(key))

    def download_url(self, key: str) -> str:
        """A presigned GET of one object of this bucket that downloads it as a file."""
        name = safe_file_name(key.rpartition("/")[2])
        url: str = self.s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentType": "application/octet-stream",
                "ResponseContentDisposition": f'attachment; filename="{name}"',
            },
            ExpiresIn=DOWNLOAD_EXPIRY_S,
        )
        return url

    def presigned_get(self, uri: str, expires_s: int) -> str:
        """A GET of one `s3://` object of this bucket, for a reader with no S3 access."""
        bucket, key = split_s3_uri(uri)
        if bucket != self.bucket:
            raise ValueError(f"{uri} is not in {self.bucket}")
        url: str = self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_s
        )
        return url

    # ---- layout and plain S3 access (the launcher uses these too) -------------------------

    def dataset_key(self, job_id: str, file_name: str) -> str:
        return f"{DATASETS_PREFIX}{check_job_id(job_id)}/{safe_file_name(file_name)}"

    def run_prefix(self, job_id: str) -> str:
        """`runs/<job_id>`, without a trailing slash."""
        return f"{RUNS_PREFIX}{check_job_id(job_id)}"

    def artifact_key(self, job_id: str, relative_path: str) -> str:
        """The key of one file of a run; `UnsafeArtifactPath` for paths that leave it."""
        try:
            relative = normalize_artifact_path(relative_path)
        except (UnsafePath, UnicodeDecodeError) as exc:
            raise UnsafeArtifactPath(str(exc)) from None
        return f"{self.run_prefix(job_id)}/{relative}"

    def read_uri(self, uri: str) -> bytes:
        """The content of any `s3://` object (the spec, by the launcher)."""
        bucket, key = split_s3_uri(uri)
        return self._get(key, bucket=bucket)

    def size_of(self, uri: str) -> int:
        """The size in bytes of an `s3://` object; `ArtifactNotFound` if it is missing."""
        bucket, key = split_s3_uri(uri)
        return int(self._head(key, bucket=bucket)["ContentLength"])

    # ---- internals ------------------------------------------------------------------------

    def _uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _head(self, key: str, *, bucket: str | None = None) -> dict[str, Any]:
        try:
            head: dict[str, Any] = self.s3.head_object(Bucket=bucket or self.bucket, Key=key)
        except ClientError as exc:
            if is_not_found(exc):
                raise ArtifactNotFound(f"no object {key}") from None
            raise
        return head

    def _get_object(self, key: str, *, bucket: str | None = None) -> dict[str, Any]:
        try:
            response: dict[str, Any] = self.s3.get_object(Bucket=bucket or self.bucket, Key=key)
        except ClientError as exc:
            if is_not_found(exc):
                raise ArtifactNotFound(f"no artifact {key}") from None
            raise
        return response

    def _get(self, key: str, *, bucket: str | None = None) -> bytes:
        response = self._get_object(key, bucket=bucket)
        body = response["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
        return data

    def _put_json(self, key: str, text: str) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=text.encode("utf-8"),
            ContentType="application/json",
            **self._encryption,
        )

    def _upload_stream(self, key: str, chunks: Iterable[bytes], max_bytes: int) -> None:
        """Stream `chunks` to `key`; `TooLarge` past `max_bytes`, stopping at that chunk."""
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        buffer = bytearray()
        written = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            for chunk in chunks:
                written += len(chunk)
                if written > max_bytes:
                    raise TooLarge(max_bytes)
                buffer += chunk
                while len(buffer) >= self.part_size:
                    if upload_id is None:
                        upload_id = self._start_multipart(key)
                    part, buffer = bytes(buffer[: self.part_size]), buffer[self.part_size :]
                    parts.append(self._upload_part(key, upload_id, len(parts) + 1, part))
            if upload_id is None:  # it all fitted in one part: one PUT is enough
                self.s3.put_object(
                    Bucket=self.bucket, Key=key, Body=bytes(buffer), **self._encryption
                )
                return
            if buffer:
                parts.append(self._upload_part(key, upload_id, len(parts) + 1, bytes(buffer)))
            self.s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            if upload_id is not None:
                self._abort(key, upload_id)
            raise

    def _start_multipart(self, key: str) -> str:
        response = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key, **self._encryption)
        return str(response["UploadId"])

    def _upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
        response = self.s3.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )
        return {"PartNumber": number, "ETag": response["ETag"]}

    def _abort(self, key: str, upload_id: str) -> None:
        # Best effort: the bucket's lifecycle rule also clears incomplete uploads.
        try:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception:
            log.exception("could not abort the multipart upload of %s", key)
