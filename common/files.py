"""Files: a write that readers never see half of, and the local path behind a `file://` URI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

PARTIAL_SUFFIX = ".partial"


def partial_path(path: Path) -> Path:
    """Where `replacing` writes before the rename: next to `path` (same file system)."""
    return path.with_name(path.name + PARTIAL_SUFFIX)


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path to write `path`'s new content to; renamed onto `path` when the block
    ends, removed when it raises. Readers see the old file or the new one, never a half.

    For writers that want a path of their own (a library's `save(path)`, a stream written in
    chunks); `write_atomically` for content already in memory.
    """
    temporary = partial_path(path)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write `content` (text as UTF-8) to `path` through `replacing`."""
    with replacing(path) as temporary:
        if isinstance(content, str):
            temporary.write_text(content, encoding="utf-8")
        else:
            temporary.write_bytes(content)


def path_from_uri(uri: str) -> Path:
    """The local path behind a plain path or a `file:` URI (RFC 8089).

    A URI is percent-decoded (`%20` is a space) and may name this host (`file://localhost/`)
    or none; a plain path is used as it is, relative or not (a `%` in it is a `%`). Anything
    else (`s3://`, another host, a query or fragment) is a ValueError: it is no local file.
    """
    if uri[:5].lower() != "file:":
        if "://" in uri:
            raise ValueError(f"not a local path: {uri!r}")
        return Path(uri)
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"a file URI on another host ({parts.netloc}): {uri!r}")
    # `#` and `?` end the path in a URI; a file name with them has them percent-encoded.
    if parts.query or parts.fragment or uri.endswith(("?", "#")):
        raise ValueError(f"a file URI with a query or fragment: {uri!r}")
    if not parts.path.startswith("/"):
        raise ValueError(f"a file URI must name an absolute path: {uri!r}")
    # Decoded as the file system decodes names, so `Path.as_uri()` of any path comes back.
    return Path(os.fsdecode(unquote_to_bytes(parts.path)))
