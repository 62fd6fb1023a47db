"""Numbers written as text the way people write them, and numbers that are not finite.

A column of text becomes numbers with `parse_numbers`: currency signs and codes, percent
signs (dropped: "15%" is 15, as it always was here), a leading `+`, negatives in parentheses
or with a trailing minus, and thousands separators (`,` `.` `'` or spaces) are understood.
Whether a comma or a dot marks the decimals is decided once per column (`number_format_of`),
never per value: `1,234` alone is a thousand and more in the US and one and a bit in
Germany, and only the other values in the column can tell. US style is the default.

Infinite values (`inf`, `-inf`, `1e999`) are no use to a model and make some estimators fail,
so they become missing values; `count_non_finite` and `non_finite_note` tell the person.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

DOT = "dot"  # 1,234.5  1'234.5  1 234.5  (US, UK, Switzerland)
COMMA = "comma"  # 1.234,5  1 234,5  (most of Europe and Latin America)

_SPACES = " \u00a0\u202f\u2009"  # plain, non-breaking, narrow non-breaking, thin
_CURRENCY = (
    r"(?:R\$|US\$|A\$|C\$|HK\$|NZ\$|S\$|Fr\.|SFr\.|kr\.?|zł|Kč|"
    r"(?:USD|EUR|GBP|CHF|JPY|CNY|CAD|AUD|NZD|SEK|NOK|DKK|PLN|CZK|HUF|INR|BRL|MXN|ZAR|"
    r"RUB|TRY|HKD|SGD|KRW|RON|BGN|ISK|ILS)|[$€£¥₹₽₩₺₪₫₱฿¢])"
)
_MINUS = "-−"  # ASCII hyphen-minus and the Unicode minus sign
# One value: a currency or percent sign before or after the number (also outside its sign or
# brackets), a sign, accountants' brackets "(1,234.50)" or a ledger's trailing minus
# "1,234.50-" for negatives, and the digits with their separators ("body").
_UNIT = rf"(?:{_CURRENCY}\s*)?"
_SHAPE = re.compile(
    rf"""\s*{_UNIT}(?P<open>\()?\s*{_UNIT}(?P<sign>[{_MINUS}+])?\s*{_UNIT}
    (?P<body>[\d.,'’{_SPACES}]++(?:[eE][-+]?\d+)?|(?i:inf(?:inity)?))
    \s*(?:{_CURRENCY}|%)?\s*(?P<close>\))?\s*{_UNIT}(?P<trail>[{_MINUS}])?\s*""",
    re.VERBOSE,
)
_MAYBE_INFINITE = re.compile(r"inf|\d[eE]\+?\d{3}", re.IGNORECASE)  # "inf", "1e999"
MAX_NUMBER_CHARS = 100  # longer text is no number; the regex need not look at it

# The digits of a number with its separators, in each style. Thousands come in groups of
# three with one separator used throughout ("1,234,567"), or not at all ("1234567").
_EXPONENT = r"(?:[eE][-+]?\d+)?"
_DOT_BODY = re.compile(
    rf"(?:\d{{1,3}}(?P<sep>[,'’{_SPACES}])\d{{3}}(?:(?P=sep)\d{{3}})*|\d*)(?:\.\d*)?{_EXPONENT}"
)
_COMMA_BODY = re.compile(
    rf"(?:\d{{1,3}}(?P<sep>[.'’{_SPACES}])\d{{3}}(?:(?P=sep)\d{{3}})*|\d*)(?:,\d*)?{_EXPONENT}"
)
_DOT_GROUPING = re.compile(rf"[,'’{_SPACES}]")
_COMMA_GROUPING = re.compile(rf"[.'’{_SPACES}]")

# Values that only one style can explain: a separator followed by one, two or four and more
# digits is a decimal mark; several of the same separator, or one after a thousands group,
# are thousands. "1,234" or "1.234" alone prove nothing.
_COMMA_EVIDENCE = re.compile(
    rf"\d+,(?:\d{{1,2}}|\d{{4,}})|0,\d+|\d{{4,}},\d+"
    rf"|\d{{1,3}}(?:[.'’{_SPACES}]\d{{3}})+,\d+|\d{{1,3}}(?:\.\d{{3}}){{2,}}"
)
_DOT_EVIDENCE = re.compile(
    rf"\d+\.(?:\d{{1,2}}|\d{{4,}})|0\.\d+|\d{{4,}}\.\d+"
    rf"|\d{{1,3}}(?:[,'’{_SPACES}]\d{{3}})+\.\d+|\d{{1,3}}(?:,\d{{3}}){{2,}}"
)


def number_format_of(values: pd.Series) -> str:
    """`COMMA` if the column's values show commas as decimal marks more often than dots."""
    if not _is_text(values):
        return DOT
    bodies = [_body(str(v)) for v in values.dropna().unique()]
    comma = sum(1 for b in bodies if b is not None and _COMMA_EVIDENCE.fullmatch(b))
    dot = sum(1 for b in bodies if b is not None and _DOT_EVIDENCE.fullmatch(b))
    return COMMA if comma > dot else DOT


def parse_numbers(values: pd.Series, number_format: str | None = None) -> pd.Series:
    """Float64 numbers from numbers or text; missing where a value is no finite number.

    `number_format` is `DOT` or `COMMA`; None decides it from the values themselves.
    """
    return _without_non_finite(_parse(values, number_format))


def number_share(values: pd.Series, number_format: str | None = None) -> float:
    """The share of present values that are numbers; ±inf count, they are numbers too."""
    present = values.dropna()
    return float(_parse(present, number_format).notna().mean()) if len(present) else 0.0


def finite_floats(values: pd.Series) -> pd.Series:
    """A numeric column as float64, with ±inf (and anything not a number) missing."""
    import pandas as pd

    return _without_non_finite(pd.to_numeric(values, errors="coerce").astype("float64"))


def count_non_finite(frame: pd.DataFrame) -> dict[str, int]:
    """How many ±inf values each column holds, in number columns and text read as numbers."""
    counts = {str(col): _non_finite_in(frame[col]) for col in frame.columns}
    return {col: n for col, n in counts.items() if n}


def non_finite_note(counts: dict[str, int]) -> str | None:
    """One sentence for the person about the infinite values that became missing, or None."""
    if not counts:
        return None
    total = sum(counts.values())
    ranked = sorted(counts, key=lambda col: -counts[col])
    what = (
        "1 value that was not a finite number (inf, -inf) became a missing value"
        if total == 1
        else f"{total:,} values that were not finite numbers (inf, -inf) became missing values"
    )
    where = f"in “{ranked[0]}”"
    others = len(ranked) - 1
    if others:
        where += f" and {others} other column{'s' if others > 1 else ''}"
    return f"{what} {where}."


# ---- parsing -----------------------------------------------------------------------------


def _parse(values: pd.Series, number_format: str | None) -> pd.Series:
    """Float64 numbers, ±inf kept (they are counted before they are dropped)."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_numeric(values, errors="coerce").astype("float64")
    if number_format is None:
        number_format = number_format_of(values)
    # One regex per value in plain Python: a pandas string method per step is ten times slower.
    body_style, grouping = (
        (_COMMA_BODY, _COMMA_GROUPING) if number_format == COMMA else (_DOT_BODY, _DOT_GROUPING)
    )
    codes, distinct = pd.factorize(values)  # each distinct text parsed once; NA is code -1
    numbers = np.fromiter(
        (_parse_one(str(v), body_style, grouping) for v in distinct),
        dtype=np.float64,
        count=len(distinct),
    )
    parsed = np.append(numbers, np.nan)[codes]  # code -1 picks the NaN at the end
    return pd.Series(parsed, index=values.index, name=values.name)


def _parse_one(text: str, body_style: re.Pattern[str], grouping: re.Pattern[str]) -> float:
    shape = _SHAPE.fullmatch(text) if len(text) <= MAX_NUMBER_CHARS else None
    if shape is None or bool(shape["open"]) != bool(shape["close"]):
        return float("nan")
    body = shape["body"].strip(_SPACES)
    # A value that fits the column's style loses its thousands separators; others go on as
    # they are, so "inf" or "1e999" still parse and "1,5" in a dot column does not.
    if body_style.fullmatch(body):
        body = grouping.sub("", body).replace(",", ".")
    try:
        number = float(body)
    except ValueError:
        return float("nan")
    negative = bool(shape["open"] or shape["trail"]) or (shape["sign"] or "+") in _MINUS
    return -abs(number) if negative else number


def _body(text: str) -> str | None:
    """The digits and separators of a value, without signs and units; None if no number."""
    shape = _SHAPE.fullmatch(text) if len(text) <= MAX_NUMBER_CHARS else None
    return None if shape is None else shape["body"].strip(_SPACES)


def _without_non_finite(numbers: pd.Series) -> pd.Series:
    import numpy as np

    return numbers.where(np.isfinite(numbers.to_numpy()))


# ---- counting ----------------------------------------------------------------------------


def _non_finite_in(values: pd.Series) -> int:
    import numpy as np
    import pandas as pd

    from training.pipeline.features import NUMBER_SHARE  # here: features imports this module

    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return 0
    if pd.api.types.is_numeric_dtype(values):
        return int(np.isinf(_parse(values, None).to_numpy()).sum())
    if not _is_text(values):
        return 0
    # The usual case, settled on the distinct values (a million rows hold few of them).
    distinct = pd.Series(values.dropna().unique()).astype(pd.StringDtype("python"))
    if not distinct.str.contains(_MAYBE_INFINITE).any():
        return 0
    text = values.dropna().astype(pd.StringDtype("python"))
    # Only text that is read as numbers loses its "inf": in a category it is just a word.
    numbers = _parse(text, None)
    if numbers.notna().mean() < NUMBER_SHARE:
        return 0
    return int(np.isinf(numbers.to_numpy()).sum())


def _is_text(values: pd.Series) -> bool:
    """Text, or Python objects (numbers among text): each value is read as its text."""
    import pandas as pd

    return isinstance(values.dtype, pd.StringDtype) or values.dtype == object
