"""`SubprocessPreviewer`: the real `python -m training preview` child, and every way it fails."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
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


# ---- a child that sees no secrets, a name that is never an option, a cap, a semaphore ------

SAYS_WHAT_IT_GOT = (
    "import json, os, sys, pathlib; pathlib.Path(os.environ['AUTOML_TEST_OUT']).write_text("
    "json.dumps({'argv': sys.argv[1:], 'env': dict(os.environ),"
    " 'limits': pathlib.Path('/proc/self/limits').read_text()}))"
)


def test_the_child_gets_the_name_as_a_value_no_secrets_and_a_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "got.json"
    monkeypatch.setenv("AUTOML_TEST_OUT", str(out))
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "AWS_SESSION_TOKEN",
                 "AWS_ACCESS_KEY_ID", "AUTOML_LINK_SECRET", "SMTP_PASSWORD"):  # fmt: skip
        monkeypatch.setenv(name, "not-for-children")
    previewer = SubprocessPreviewer(python_says(SAYS_WHAT_IT_GOT), memory_mb=2500)
    with pytest.raises(PreviewFailed):  # it printed no preview
        previewer.preview(str(tmp_path / "x.csv"), "--max-cells=1 -h.csv")
    got = json.loads(out.read_text())
    assert got["argv"][0] == "--name=--max-cells=1 -h.csv"
    assert got["argv"][-1] == str(tmp_path / "x.csv")
    assert not [value for value in got["env"].values() if value == "not-for-children"]
    assert f"Max data size             {2500 * 1024 * 1024}" in got["limits"]


def test_previews_wait_for_a_free_slot(tmp_path: Path) -> None:
    slow = SubprocessPreviewer(
        python_says("import time; time.sleep(5)"), timeout_s=0.3, max_concurrent=1
    )
    holder_started, release = threading.Event(), threading.Event()
    errors: list[str | None] = []

    def hold_the_slot() -> None:
        # What a preview in progress does, held until the test lets go (no race on timing).
        with slow._slots:
            holder_started.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_slot)
    holder.start()
    assert holder_started.wait(10)
    for _ in range(2):  # the second try comes after the slot is free
        try:
            slow.preview(str(tmp_path / "x.csv"), "a.csv")
        except PreviewFailed as error:
            errors.append(error.code)
        release.set()
        holder.join()
    # The first never got a slot within its timeout; the second ran and timed out.
    assert errors == ["preview_busy", "preview_timeout"]


@REAL_PREVIEW
def test_a_file_past_the_memory_cap_fails_its_preview_with_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "upload"  # 39 MB of distinct text: about 350 MB once read
    rows = (",".join(f"v{r}x{i}" for i in range(40)) for r in range(100_000))
    path.write_text(",".join(f"h{i}" for i in range(40)) + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(PreviewFailed) as caught:
        SubprocessPreviewer(memory_mb=250).preview(str(path), "huge.csv")
    assert caught.value.code == "file_too_large"
    # A MemoryError the job explains, or a crash in pandas' C code the previewer explains.
    assert "more memory than a" in caught.value.message
    assert "(the limit is 250 MB)" in caught.value.message
    assert "AUTOML_JOB_MEMORY_MB" in caught.value.hint
