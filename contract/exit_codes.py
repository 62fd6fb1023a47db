"""Exit codes of `python -m training run` and `automl train`.

AWS Batch retries on them (infra/batch.py: an interrupted job is retried, bad input is
not); the launchers and the previewer read them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # only for the annotation: this module stays standard library at run time
    from contract.jobs import JobResult, PredictionResult

SUCCEEDED: Final = 0
INTERNAL_ERROR: Final = 1
BAD_INPUT: Final = 2
INTERRUPTED: Final = 3  # stopped by SIGTERM/SIGINT: worth retrying, unlike bad input
NOT_STARTED: Final = 70  # a warm worker's child that never began the job (EX_SOFTWARE)


def for_result(result: JobResult | PredictionResult) -> int:
    from contract.jobs import INTERNAL_ERROR_CODE  # loaded already: `result` is a JobResult

    if result.status == "succeeded":
        return SUCCEEDED
    if result.status == "interrupted":
        return INTERRUPTED
    if result.error is not None and result.error.code != INTERNAL_ERROR_CODE:
        return BAD_INPUT
    return INTERNAL_ERROR
