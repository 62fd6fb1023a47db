"""The local artifact store: layout, streamed uploads with a size limit, safe resolve."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.backends.local.artifacts import (
    ArtifactNotFound,
    LocalArtifactStore,
    TooLarge,
    UnsafeArtifactPath,
    safe_file_name,
)


@pytest.fixture
def store(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "data")


@pytest.fixture
def run(store: LocalArtifactStore) -> Path:
    run = store.run_dir("job-1")
    (run / "report").mkdir(parents=True)
    (run / "report" / "sweetviz.html").write_text("<html></html>")
    (run / "model.pkl").write_bytes(b"model")
    other = store.run_dir("job-2")
    other.mkdir(parents=True)
    (other / "model.pkl").write_bytes(b"someone else's model")
    return run


def test_layout(store: LocalArtifactStore, tmp_path: Path) -> None:
    assert store.run_dir("job-1") == tmp_path / "data" / "runs" / "job-1"
    assert store.dataset_path("job-1", "churn.csv") == (
        tmp_path / "data" / "datasets" / "job-1" / "churn.csv"
    )
    assert not (tmp_path / "data").exists()  # paths only, nothing created


@pytest.mark.parametrize("job_id", ["", "..", "../x", "a/b", "a\\b", ".hidden", "a" * 65, "x\x00"])
def test_bad_job_ids(store: LocalArtifactStore, job_id: str) -> None:
    with pytest.raises(ValueError, match="job id"):
        store.run_dir(job_id)
    with pytest.raises(ValueError, match="job id"):
        store.dataset_path(job_id, "a.csv")
    with pytest.raises(ValueError, match="job id"):
        store.write_stream(job_id, "a.csv", [b"x"], 10)
    with pytest.raises(ValueError, match="job id"):
        store.resolve(job_id, "model.pkl")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("churn.csv", "churn.csv"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\sales 2024.xlsx", "sales_2024.xlsx"),
        ("/abs/data.parquet", "data.parquet"),
        (".bashrc", "bashrc"),
        ("..", "dataset"),
        ("", "dataset"),
        ("résumé.csv", "r_sum_.csv"),
        ("a\x00b.csv", "ab.csv"),
        ("x" * 300 + ".csv", "x" * 124 + ".csv"),
    ],
)
def test_safe_file_names(name: str, expected: str) -> None:
    assert safe_file_name(name) == expected


def test_dataset_path_stays_in_the_job_folder(store: LocalArtifactStore) -> None:
    folder = store.root / "datasets" / "job-1"
    for name in ["../../x.csv", "..\\..\\x.csv", "/etc/passwd", "%2e%2e/x"]:
        path = store.dataset_path("job-1", name)
        assert path.parent == folder


def test_write_stream_happy_path(store: LocalArtifactStore) -> None:
    path = store.write_stream("job-1", "churn.csv", iter([b"a,b\n", b"1,2\n"]), max_bytes=8)
    assert path == store.dataset_path("job-1", "churn.csv")
    assert path.read_bytes() == b"a,b\n1,2\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["churn.csv"]


def test_write_stream_replaces_atomically(store: LocalArtifactStore) -> None:
    store.write_stream("job-1", "churn.csv", [b"old"], 10)
    path = store.write_stream("job-1", "churn.csv", [b"new!"], 10)
    assert path.read_bytes() == b"new!"
    assert os.listdir(path.parent) == ["churn.csv"]


def test_write_stream_too_large_leaves_nothing(store: LocalArtifactStore) -> None:
    consumed: list[int] = []

    def chunks() -> Iterator[bytes]:
        for i in range(100):
            consumed.append(i)
            yield b"x" * 4

    with pytest.raises(TooLarge) as info:
        store.write_stream("job-1", "big.csv", chunks(), max_bytes=10)
    assert info.value.max_bytes == 10
    assert consumed == [0, 1, 2]  # stopped reading at the first chunk past the limit
    assert not (store.root / "datasets" / "job-1").exists()


def test_too_large_keeps_an_existing_folder_and_file(store: LocalArtifactStore) -> None:
    kept = store.write_stream("job-1", "a.csv", [b"ok"], 10)
    with pytest.raises(TooLarge):
        store.write_stream("job-1", "a.csv", [b"x" * 11], 10)
    assert kept.read_bytes() == b"ok"
    assert os.listdir(kept.parent) == ["a.csv"]


def test_exactly_the_limit_is_fine(store: LocalArtifactStore) -> None:
    assert store.write_stream("job-1", "a.csv", [b"12345", b"", b"67890"], 10).stat().st_size == 10
    assert store.write_stream("job-1", "e.csv", [], 0).read_bytes() == b""


def test_failing_stream_leaves_nothing(store: LocalArtifactStore) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"abc"
        raise ConnectionError("download broke")

    with pytest.raises(ConnectionError):
        store.write_stream("job-1", "a.csv", chunks(), 100)
    assert not (store.root / "datasets" / "job-1").exists()


def test_negative_limit(store: LocalArtifactStore) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        store.write_stream("job-1", "a.csv", [b""], -1)


def test_resolve_happy_paths(store: LocalArtifactStore, run: Path) -> None:
    assert store.resolve("job-1", "model.pkl") == (run / "model.pkl").resolve()
    assert store.resolve("job-1", "report/sweetviz.html").read_text() == "<html></html>"
    assert store.resolve("job-1", "./report//sweetviz.html").name == "sweetviz.html"


@pytest.mark.parametrize(
    "path",
    [
        "../job-2/model.pkl",
        "report/../../job-2/model.pkl",
        "/etc/passwd",
        "..\\job-2\\model.pkl",
        "model.pkl\x00",
        "%2e%2e/job-2/model.pkl",
        "%252e%252e%252fjob-2%252fmodel.pkl",
        "..",
        ".",
        "",
    ],
)
def test_resolve_refuses_escapes(store: LocalArtifactStore, run: Path, path: str) -> None:
    with pytest.raises(UnsafeArtifactPath):
        store.resolve("job-1", path)


def test_resolve_refuses_symlinks_out(store: LocalArtifactStore, run: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (run / "link.txt").symlink_to(secret)
    (run / "other").symlink_to(store.run_dir("job-2"), target_is_directory=True)
    with pytest.raises(UnsafeArtifactPath):
        store.resolve("job-1", "link.txt")
    with pytest.raises(UnsafeArtifactPath):
        store.resolve("job-1", "other/model.pkl")


def test_resolve_allows_symlinks_within(store: LocalArtifactStore, run: Path) -> None:
    (run / "latest.html").symlink_to(run / "report" / "sweetviz.html")
    assert store.resolve("job-1", "latest.html") == (run / "report" / "sweetviz.html").resolve()


def test_resolve_refuses_symlink_loops(store: LocalArtifactStore, run: Path) -> None:
    (run / "loop").symlink_to(run / "loop")
    with pytest.raises((UnsafeArtifactPath, ArtifactNotFound)):
        store.resolve("job-1", "loop")


def test_resolve_missing(store: LocalArtifactStore, run: Path) -> None:
    with pytest.raises(ArtifactNotFound):
        store.resolve("job-1", "nope.html")
    with pytest.raises(ArtifactNotFound):
        store.resolve("job-1", "model.pkl/inside")
    with pytest.raises(ArtifactNotFound):
        store.resolve("job-1", "report")  # a folder is not a file
    with pytest.raises(ArtifactNotFound):
        store.resolve("job-3", "model.pkl")  # no run folder at all
    (run / "dangling").symlink_to(run / "gone")
    with pytest.raises(ArtifactNotFound):
        store.resolve("job-1", "dangling")
