"""`common.files`: atomic writes, and the one reading of a `file:` URI."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.files import partial_path, path_from_uri, replacing, write_atomically


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("file:///tmp/a%20b.csv", "/tmp/a b.csv"),  # percent-decoded
        ("file:///tmp/a b.csv", "/tmp/a b.csv"),  # a space left as it is
        ("file://localhost/tmp/data.csv", "/tmp/data.csv"),  # this host, by name
        ("file:/tmp/data.csv", "/tmp/data.csv"),  # RFC 8089's short form
        ("FILE:///tmp/data.csv", "/tmp/data.csv"),  # schemes ignore case
        ("file:///tmp/100%25.csv", "/tmp/100%.csv"),
        ("file:///tmp/caf%C3%A9%23%3F.csv", "/tmp/café#?.csv"),
        ("/tmp/a b.csv", "/tmp/a b.csv"),  # a plain path is used as it is
        ("/tmp/a%20b.csv", "/tmp/a%20b.csv"),  # ... a `%` in it too
        ("runs/job-1", "runs/job-1"),  # ... and relative
        ("data.csv", "data.csv"),
    ],
)
def test_path_from_uri(uri: str, path: str) -> None:
    assert path_from_uri(uri) == Path(path)


@pytest.mark.parametrize(
    "name", ["a b.csv", "100%.csv", "#1?.csv", "café.csv", "\udcff-not-utf8.csv"]
)
def test_path_from_uri_undoes_as_uri(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    assert path_from_uri(path.as_uri()) == path


@pytest.mark.parametrize(
    "uri",
    [
        "s3://bucket/key.csv",
        "https://example.com/data.csv",
        "file://fileserver/share/data.csv",  # another host's file
        "file:///tmp/data.csv#part",  # a fragment or query would be cut off the name
        "file:///tmp/data.csv?x=1",
        "file:///tmp/data.csv?",
        "file:data.csv",  # a file URI names an absolute path
    ],
)
def test_what_is_no_local_file(uri: str) -> None:
    with pytest.raises(ValueError, match=r"not a local path|file URI"):
        path_from_uri(uri)


def test_write_atomically_replaces_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text("old", encoding="utf-8")
    write_atomically(path, "nouveau ✓")
    assert path.read_text(encoding="utf-8") == "nouveau ✓"
    write_atomically(path, b"\x89PNG")
    assert path.read_bytes() == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text("old", encoding="utf-8")

    def killed_mid_write() -> None:
        with replacing(path) as temporary:
            assert temporary == partial_path(path) and temporary.parent == tmp_path
            temporary.write_text("half", encoding="utf-8")
            raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        killed_mid_write()
    assert path.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_replacing_a_file_that_is_not_there_yet(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    with replacing(path) as temporary:
        temporary.write_bytes(b"png")
        assert not path.exists()  # readers see nothing until the block ends
    assert path.read_bytes() == b"png"
