"""Problems the bot explains to a person: each carries a sentence and what to do about it.

Anything else that goes wrong is logged with its traceback and the person gets a generic
apology with the job id; a traceback never reaches Slack. Standard library only.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """A problem the person who asked can act on. `code` is stable, for logs and tests."""

    code = "error"

    def __init__(self, message: str, hint: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code


class FileFetchError(UserFacingError):
    """The Slack file could not be fetched (scope missing, deleted, not a table...)."""

    code = "file_fetch"


class FileTooLarge(UserFacingError):
    code = "file_too_large"


class PreviewFailed(UserFacingError):
    code = "preview_failed"


class NotAllowed(UserFacingError):
    """Allowlists: this channel or this person may not use the bot."""

    code = "not_allowed"


class LimitReached(UserFacingError):
    """Too many jobs at once for this person."""

    code = "limit_reached"
