"""Which column a person meant: exact, then up to case, accents and spacing, else the closest.

A request is checked against the columns the file's preview found before any job exists,
so a typo is answered at once and does not hold the person's job slot. Standard library.
"""

from __future__ import annotations

import difflib
import unicodedata


def fold(name: str) -> str:
    """`name` without case, accents, spaces, underscores or dashes: `Gekündigt_` -> `gekundigt`."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return "".join(char for char in bare.casefold() if not (char.isspace() or char in "_-"))


def match(columns: list[str], wanted: str) -> str | None:
    """The column `wanted` names: itself, or the one column equal to it once folded."""
    if wanted in columns:
        return wanted
    same = [column for column in columns if fold(column) == fold(wanted)]
    return same[0] if len(same) == 1 else None


def closest(columns: list[str], wanted: str, n: int = 3) -> list[str]:
    """Up to `n` columns whose folded names are nearest `wanted`'s, nearest first."""
    by_fold: dict[str, str] = {}
    for column in columns:
        by_fold.setdefault(fold(column), column)
    near = difflib.get_close_matches(fold(wanted), list(by_fold), n=n, cutoff=0.6)
    return [by_fold[name] for name in near]
