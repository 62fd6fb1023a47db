"""Process exit codes of `automl train` and `python -m training run` (AWS Batch retries on them)."""

from training.contracts import JobResult

SUCCEEDED = 0
INTERNAL_ERROR = 1
BAD_INPUT = 2
INTERRUPTED = 3  # stopped by SIGTERM/SIGINT: worth retrying, unlike bad input


def for_result(result: JobResult) -> int:
    if result.status == "succeeded":
        return SUCCEEDED
    if result.status == "interrupted":
        return INTERRUPTED
    if result.error is not None and result.error.code != "internal_error":
        return BAD_INPUT
    return INTERNAL_ERROR
