"""`common.spreadsheet`: text cells a spreadsheet would run as a formula are made inert."""

from __future__ import annotations

import pytest

from common.spreadsheet import safe_cell


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('=HYPERLINK("https://evil.example","x")', '\'=HYPERLINK("https://evil.example","x")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
        ('{"n": -1}', '{"n": -1}'),
    ],
)
def test_formula_text_gets_an_apostrophe(cell: str, shown: str) -> None:
    assert safe_cell(cell) == shown


@pytest.mark.parametrize("number", [-1, -0.5, 3, 0.25, None, True])
def test_numbers_stay_numbers(number: object) -> None:
    assert safe_cell(number) is number
