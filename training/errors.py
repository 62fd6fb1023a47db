"""Errors a person can act on. Each has a stable code, a message and a hint."""

from __future__ import annotations

import errno

from contract.jobs import INTERNAL_ERROR_CODE, ErrorInfo


class InputError(Exception):
    """The input (file, target, options) cannot be trained on. Exit code 2 on the CLI."""

    def __init__(self, code: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint

    def info(self) -> ErrorInfo:
        return ErrorInfo(code=self.code, message=self.message, hint=self.hint)


INTERNAL_ERROR_HINT = (
    "This is a bug in the bot, not a problem with your data. "
    "Try again; if it happens again, share the job id with whoever runs the bot."
)


def internal_error(job_ref: str = "") -> ErrorInfo:
    suffix = f" (job {job_ref})" if job_ref else ""
    return ErrorInfo(
        code=INTERNAL_ERROR_CODE,
        message=f"Something went wrong inside the training job{suffix}.",
        hint=INTERNAL_ERROR_HINT,
    )


DISK_FULL_CODE = "disk_full"
# No space, over a quota, or past a file-size limit: the job cannot write, whatever it does.
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def is_disk_full(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised from, says the disk took no more bytes."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _DISK_FULL_ERRNOS:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def disk_full() -> ErrorInfo:
    return ErrorInfo(
        code=DISK_FULL_CODE,
        message="The disk where the bot keeps its runs is full, so the job could not save "
        "its work.",
        hint="Ask whoever runs the bot to free some space (old runs in its data folder can "
        "go), then start the job again.",
    )
