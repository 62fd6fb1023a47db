"""Cells of the CSVs written for people: a spreadsheet runs a text cell that looks like a formula.

OWASP's CSV injection advice: a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
return gets a leading apostrophe, so Excel, LibreOffice and Google Sheets show it as text.
Only text: a number (a negative one too) stays a number.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """`value`, with a text cell that a spreadsheet would run made inert."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
