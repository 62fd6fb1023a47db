"""Which codec a text file is in: the one a byte-order mark or a NUL pattern proves, else the
codecs to try in order (UTF-8, cp1252, Latin-1), judged on the sniffed sample."""

from __future__ import annotations

import codecs

from training.input.formats import binary_file


def sniff_codec(head: bytes, name: str) -> str | None:
    """The codec a byte-order mark or NUL pattern proves, or None to guess from the bytes."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" not in head:
        return None
    # UTF-16 without a BOM: ASCII text leaves a NUL in every other byte.
    pairs = len(head) // 2
    nul_odd = head[1::2].count(0) / max(pairs, 1)
    nul_even = head[0::2].count(0) / max(pairs, 1)
    if nul_odd > 0.4 and nul_even < 0.05:
        return "utf-16-le"
    if nul_even > 0.4 and nul_odd < 0.05:
        return "utf-16-be"
    raise binary_file(name)


def decode_sample(
    head: bytes, codec: str | None, *, whole: bool
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Decode the sample; return it with the encodings to try on the whole file, in order."""
    if codec is not None:
        return _decode(head, codec, whole=whole), ((codec, "strict"),)
    try:
        sample = _decode(head, "utf-8", whole=whole)
    except UnicodeDecodeError:
        pass
    else:
        # Real UTF-8 text with one bad byte further down reads best as UTF-8 with a
        # replacement character; plain ASCII so far may be a cp1252 export.
        later = (("utf-8", "replace"),) if not sample.isascii() else (("cp1252", "strict"),)
        return sample, (("utf-8", "strict"), *later, ("latin-1", "strict"))
    try:
        return _decode(head, "cp1252", whole=whole), (("cp1252", "strict"), ("latin-1", "strict"))
    except UnicodeDecodeError:
        return _decode(head, "latin-1", whole=whole), (("latin-1", "strict"),)


def _decode(data: bytes, codec: str, *, whole: bool) -> str:
    # An incremental decoder leaves a multi-byte character cut at the sample's end alone.
    text = codecs.getincrementaldecoder(codec)("strict").decode(data, final=whole)
    return text.removeprefix("\ufeff")
