"""`SubprocessPreviewer`: the real `python -m training preview` child, and every way it fails."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot.backends.local.previewer import SubprocessPreviewer
from bot.errors import PreviewFailed
from common.files import path_from_uri

REPO = Path(__file__).resolve().parents[2]
# The real `python -m training preview` child: it loads pandas and the reading code (seconds).
REAL_PREVIEW = pytest.mark.slow


def python_says(code: str) -> tuple[str, ...]:
    """A stand-in previewer command: the path and --name arguments land in sys.argv."""
    return (sys.executable, "-c", code)


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "F123-upload"
    lines = ["customer_id,plan,tenure,churned"]
    lines += [f"C{i:04d},{'pro' if i % 3 else 'basic'},{i % 40},{'yes' if i % 4 else 'no'}"
              for i in range(60)]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


@REAL_PREVIEW
def test_a_missing_copy_is_a_sentence_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(PreviewFailed) as caught:
        SubprocessPreviewer().preview(str(tmp_path / "gone.csv"), "gone.csv")
    assert caught.value.code == "unreadable_file"
    assert "`gone.csv`" in caught.value.message and caught.value.hint


@REAL_PREVIEW
def test_previews_a_real_table(csv: Path) -> None:
    preview = SubprocessPreviewer().preview(str(csv), "churn <Q3>.csv")
    assert preview.file_name == "churn <Q3>.csv"
    assert preview.rows == 60
    assert [c.name for c in preview.columns] == ["customer_id", "plan", "tenure", "churned"]
    assert preview.suggested_target == "churned"
    assert preview.suggested_task == "classification"


@REAL_PREVIEW
def test_file_uri(csv: Path) -> None:
    assert SubprocessPreviewer().preview(csv.as_uri(), "c.csv").rows == 60


def test_path_from_uri() -> None:
    assert path_from_uri("file:///tmp/a%20b.csv") == Path("/tmp/a b.csv")
    with pytest.raises(ValueError, match="s3://"):
        path_from_uri("s3://bucket/key.csv")


@REAL_PREVIEW
def test_bad_file_gives_the_jobs_own_words(tmp_path: Path) -> None:
    path = tmp_path / "upload"
    path.write_bytes(b"%PDF-1.7\n" + b"\x00" * 200)
    with pytest.raises(PreviewFailed) as caught:
        SubprocessPreviewer().preview(str(path), "report.csv")
    error = caught.value
    assert error.code == "not_a_table"
    assert error.message == "`report.csv` is not a table I can read: it is a PDF document."
    assert "CSV" in error.hint


def test_timeout(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    slow = SubprocessPreviewer(python_says("import time; time.sleep(30)"), timeout_s=0.2)
    with pytest.raises(PreviewFailed) as caught:
        slow.preview(str(tmp_path / "x.csv"), "big.csv")
    assert caught.value.code == "preview_timeout"
    assert "“big.csv” took longer than 0.2 s" in caught.value.message
    assert "target=" in caught.value.hint
    assert "timed out" in caplog.text


@pytest.mark.parametrize(
    "code",
    [
        # A crash: a traceback on stderr, exit 1.
        "import sys; sys.stderr.write('Traceback: KeyError secret-detail'); sys.exit(1)",
        # Exit 0 but no preview on stdout.
        "print('not json'); import sys; sys.stderr.write('secret-detail')",
        # Exit 2 without the error document (argparse's usage error looks like this).
        "import sys; sys.stderr.write('usage: secret-detail'); sys.exit(2)",
        # Killed (out of memory, say).
        "import os, signal, sys; sys.stderr.write('secret-detail'); sys.stderr.flush();"
        " os.kill(os.getpid(), signal.SIGKILL)",
    ],
)
def test_crash_gives_a_generic_sentence_and_logs_stderr(
    tmp_path: Path, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with pytest.raises(PreviewFailed) as caught:
        SubprocessPreviewer(python_says(code)).preview(str(tmp_path / "x.csv"), "data.csv")
    error = caught.value
    assert error.code == "preview_failed"
    assert error.message == "Something went wrong while reading “data.csv” for a preview."
    assert "secret-detail" not in error.message + error.hint
    assert "secret-detail" in caplog.text


def test_missing_executable(tmp_path: Path) -> None:
    broken = SubprocessPreviewer((str(tmp_path / "no-such-python"), "-m", "training", "preview"))
    with pytest.raises(PreviewFailed) as caught:
        broken.preview(str(tmp_path / "x.csv"), "data.csv")
    assert caught.value.code == "preview_failed"


def test_the_bot_side_imports_no_pandas() -> None:
    code = (
        "import sys, bot.backends.local.previewer\n"
        "print(sorted({'pandas', 'numpy', 'flaml'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
