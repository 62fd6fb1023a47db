"""`LambdaPreviewer`: the `Previewer` port on the preview Lambda (the training image).

Reading a table needs pandas, which the bot's Lambda does not carry, so the bot invokes the
preview function synchronously with a `contract.jobs.PreviewRequest`
(`{"dataset_uri", "file_name", "limits"}`) and, with `presign`, a presigned GET of that one
file (`contract.aws.PREVIEW_DATASET_URL`): the function's role has no S3 access. It answers
with what `python -m training preview` prints: a `DatasetPreview`, or `{"error": {...}}` for a
file it cannot read. Those words are for the person; anything else (the function
crashed, timed out, was throttled or is missing) becomes a general sentence, and the details
go to the log only, as with `SubprocessPreviewer`.

Standard library, botocore's exceptions and the contract models only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError
from pydantic import ValidationError

from bot.backends.local.previewer import TRAIN_ANYWAY_HINT
from bot.errors import PreviewFailed
from contract.aws import PREVIEW_DATASET_URL
from contract.jobs import DatasetPreview, Limits

log = logging.getLogger(__name__)

_LOG_CHARS: Final = 4000  # of the function's error payload, for the log
_TIMED_OUT: Final = "Task timed out"  # how Lambda's runtime reports a function past its timeout


class LambdaPreviewer:
    """Invokes `function_name` and parses the `DatasetPreview` it returns."""

    def __init__(
        self,
        lambda_client: Any,
        function_name: str,
        *,
        limits: Limits | None = None,
        presign: Callable[[str], str] | None = None,
    ) -> None:
        if not function_name:
            raise ValueError("function_name is empty")
        self.client = lambda_client
        self.function_name = function_name
        self.limits = limits or Limits()
        self.presign = presign

    def preview(self, dataset_uri: str, file_name: str) -> DatasetPreview:
        request: dict[str, Any] = {
            "dataset_uri": dataset_uri,
            "file_name": file_name,
            "limits": self.limits.model_dump(mode="json"),
        }
        if self.presign is not None:
            request[PREVIEW_DATASET_URL] = self.presign(dataset_uri)
        payload = json.dumps(request)
        try:
            response = self.client.invoke(
                FunctionName=self.function_name,
                InvocationType="RequestResponse",
                Payload=payload.encode("utf-8"),
            )
            body: bytes = response["Payload"].read()
        except ReadTimeoutError:
            log.warning("preview of %s: no answer from %s in time", dataset_uri, self.function_name)
            raise _timed_out(file_name) from None
        except (ClientError, BotoCoreError):
            log.exception("could not invoke the preview function %s", self.function_name)
            raise _crashed(file_name) from None

        if response.get("FunctionError"):
            detail = body.decode("utf-8", "replace")[:_LOG_CHARS]
            if _TIMED_OUT in detail:
                log.warning("preview of %s timed out in %s", dataset_uri, self.function_name)
                raise _timed_out(file_name)
            log.error(
                "preview function %s failed on %s: %s", self.function_name, dataset_uri, detail
            )
            raise _crashed(file_name)

        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and "error" in answer:
            error = _input_error(answer["error"])
            if error is not None:
                raise error
        try:
            return DatasetPreview.model_validate(answer)
        except ValidationError:
            log.exception(
                "preview function %s returned no valid preview: %.*s",
                self.function_name,
                _LOG_CHARS,
                body.decode("utf-8", "replace"),
            )
            raise _crashed(file_name) from None


def _input_error(error: Any) -> PreviewFailed | None:
    """The job's own explanation of a file it cannot read, or None if it is malformed."""
    try:
        message, code = str(error["message"]), str(error["code"])
        hint = str(error.get("hint") or "")
    except (KeyError, TypeError, AttributeError):
        return None
    return PreviewFailed(message, hint, code=code or None)


def _timed_out(file_name: str) -> PreviewFailed:
    return PreviewFailed(
        f"Reading “{file_name}” took too long, so there is no preview.",
        TRAIN_ANYWAY_HINT,
        code="preview_timeout",
    )


def _crashed(file_name: str) -> PreviewFailed:
    # The same words as the local backend's: a person cannot tell the backends apart.
    return PreviewFailed(
        f"Something went wrong while reading “{file_name}” for a preview.",
        "Try again in a minute; if it keeps happening, tell whoever runs the bot. "
        + TRAIN_ANYWAY_HINT,
    )
