"""A table about to become a CSV for people, with its formula-like text cells made inert
(`common.spreadsheet.safe_cell`): headers and text cells; numbers stay numbers."""

from __future__ import annotations

import pandas as pd

from common.spreadsheet import safe_cell


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose header and text cells a spreadsheet will not run."""
    safe = frame.copy()
    for index in range(frame.shape[1]):  # by position: column names may repeat
        values = frame.iloc[:, index]
        if not (
            pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)
        ):
            safe.isetitem(index, values.astype(object).map(safe_cell))
    safe.columns = pd.Index([safe_cell(column) for column in frame.columns])
    return safe
