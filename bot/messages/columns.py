"""What the bot says when a request names a column the file does not have."""

from __future__ import annotations

from bot.errors import UserFacingError
from bot.messages.text import escape, truncate

_SHOWN = 15  # columns listed when none is close


# Plain text: `answers.problem_text` escapes a problem's message and hint.
def _names(columns: list[str]) -> str:
    return ", ".join(f"`{truncate(column, 80)}`" for column in columns)


def no_such_column(
    given: str, key: str, file_name: str, suggestions: list[str], columns: list[str]
) -> UserFacingError:
    """`key` is the command's word for it: target, exclude or keep."""
    message = f"*{file_name}* has no column `{truncate(given, 80)}` (for {key}=)."
    if suggestions:
        hint = f"Did you mean {_names(suggestions)}? Ask again with the column's name."
    else:
        more = " …" if len(columns) > _SHOWN else ""
        hint = f"Its columns are {_names(columns[:_SHOWN])}{more}. Ask again with one of them."
    return UserFacingError(message, hint, code="column_not_found")


def using_column(column: str, key: str, given: str) -> str:
    return f"Using column `{escape(column)}` for {key}={escape(given)}."
