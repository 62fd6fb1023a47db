"""The preview Lambda: `preview_handler(event, context)`, run from the training image.

The event is a `PreviewRequest` (`{"dataset_uri": "s3://…", "file_name": "…"}`) and, from the
bot, `dataset_url`: a presigned GET of that one object, which is all this function may read
(its role has no S3 access on AWS; without the URL it reads `dataset_uri` itself). The answer
is what `python -m training preview` prints: a `DatasetPreview` as JSON, or
`{"error": {"code", "message", "hint"}}` when the file cannot be read. Never a traceback:
an unexpected failure is logged (CloudWatch) and answered as `internal_error`.

The image runs it with awslambdaric (see training/Dockerfile). Lambda lets a function write
only below /tmp, so the libraries' home and cache folders are moved there first.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from common.logs import configure_lambda_logging
from contract.aws import PREVIEW_DATASET_URL
from contract.jobs import INTERNAL_ERROR_CODE, ErrorInfo, PreviewRequest
from training.errors import INTERNAL_ERROR_HINT, InputError

log = logging.getLogger(__name__)
configure_lambda_logging()  # once per container, at import: JSON lines, as the bot's Lambdas

LAMBDA_TMP = Path("/tmp")  # the only writable place in a Lambda


def preview_handler(event: Any, context: Any) -> dict[str, Any]:
    use_writable_dirs(LAMBDA_TMP)
    try:
        request = PreviewRequest.model_validate(event)
    except ValidationError as error:
        fields = ", ".join(sorted({str(e["loc"][0]) for e in error.errors() if e["loc"]}))
        log.warning("bad preview request (%s): %s", fields, error)
        return _error(
            ErrorInfo(
                code="bad_request",
                message=f"The preview request is not valid ({fields or 'not an object'}).",
                hint="The bot sends dataset_uri (s3://…) and file_name.",
            )
        )
    url = event.get(PREVIEW_DATASET_URL) if isinstance(event, dict) else None
    try:
        return _preview(request, url if isinstance(url, str) and url else None)
    except InputError as error:
        return _error(error.info())
    except Exception:
        log.exception("the preview of %s failed", request.dataset_uri)
        return _error(
            ErrorInfo(
                code=INTERNAL_ERROR_CODE,
                message=f"Something went wrong while reading “{request.file_name}”.",
                hint=INTERNAL_ERROR_HINT,
            )
        )


def _preview(request: PreviewRequest, url: str | None) -> dict[str, Any]:
    from training.input.staging import fetch_dataset
    from training.preview import preview_table

    # A warm Lambda keeps /tmp between calls: each call cleans up after itself.
    with tempfile.TemporaryDirectory(prefix="preview-") as scratch:
        if url is None:
            path = fetch_dataset(
                request.dataset_uri, Path(scratch), request.file_name, request.limits
            )
        else:
            path = _fetch_url(url, Path(scratch), request)
        preview = preview_table(path, request.file_name, limits=request.limits)
    return preview.model_dump(mode="json")


def _fetch_url(url: str, scratch: Path, request: PreviewRequest) -> Path:
    from training.aws import storage
    from training.input.limits import BYTES_PER_MB, check_size

    name = Path(storage.S3Location.parse(request.dataset_uri).key).name or "dataset"
    limit = int(request.limits.max_file_mb * BYTES_PER_MB)
    try:
        size = storage.download_url(url, scratch / name, max_bytes=limit)
    except storage.ObjectNotFound:
        raise InputError(
            "unreadable_file",
            f"I couldn't open `{request.file_name}`: the stored copy is missing.",
            "Share the file again; if it keeps happening, tell whoever runs the bot.",
        ) from None
    check_size(size, request.file_name, request.limits.max_file_mb)
    return scratch / name


def _error(info: ErrorInfo) -> dict[str, Any]:
    return {"error": info.model_dump()}


def use_writable_dirs(writable: Path) -> None:
    """Point HOME and matplotlib's config folder at `writable` when HOME is not writable.

    The image's HOME (/home/automl) is read-only in Lambda, which also runs the image as its
    own user; on Batch and locally HOME is writable and nothing changes.
    """
    home = os.environ.get("HOME", "")
    if home and os.access(home, os.W_OK):
        return
    os.environ["HOME"] = str(writable)
    os.environ["MPLCONFIGDIR"] = str(writable / "matplotlib")
    os.environ["XDG_CACHE_HOME"] = str(writable / ".cache")
