"""Errors a person can act on. Each has a stable code, a message and a hint."""

from __future__ import annotations

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
