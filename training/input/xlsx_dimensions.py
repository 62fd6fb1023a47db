"""A workaround for openpyxl reading a whole sheet when it declares no size.

Opening a workbook read-only, openpyxl (3.1) looks for the sheet's `<dimension>` element with
`iterparse`'s end events: when there is none, it notices only at the *end* of `<sheetData>`,
so it has parsed every row first (keeping an empty element per row). A 7.9 MB workbook whose
sheet inflates to 1 GiB of rows without a `<dimension>` took more than 400 s and 2.3 GB
before a single row was read (benchmarks/abuse.py). Looking at start events instead stops at
the start of `<sheetData>`; the rows are then read one by one, within our limits.
"""

from __future__ import annotations

from typing import Any


def stop_at_sheet_data() -> None:
    """Make openpyxl's size lookup stop where the rows begin (idempotent)."""
    from openpyxl.worksheet import _reader

    _reader.WorkSheetParser.parse_dimensions = _parse_dimensions


def _parse_dimensions(self: Any) -> tuple[int, int, int, int] | None:
    from openpyxl.worksheet import _reader
    from openpyxl.worksheet.dimensions import SheetDimension
    from openpyxl.xml.functions import iterparse

    for _event, element in iterparse(self.source, events=("start",)):
        if element.tag == _reader.DIMENSION_TAG:  # its attributes are there at its start
            boundaries: tuple[int, int, int, int] = SheetDimension.from_tree(element).boundaries
            return boundaries
        if element.tag == _reader.DATA_TAG:
            return None  # no size declared: the rows follow
    return None
