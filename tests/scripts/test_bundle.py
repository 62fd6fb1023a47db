"""`make bundle`: the bot's Lambda package is built, checked from the zip's contents alone,
and stays small."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO

MB = 1024 * 1024


def _bundle_bot() -> ModuleType:  # scripts/ is not a package
    spec = importlib.util.spec_from_file_location("bundle_bot", REPO / "scripts" / "bundle_bot.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LIBRARY = '''"""A library's module docstring."""

class Documented:
    """Only a docstring."""

    @property
    def decorated(self):
        """Only a docstring, under a decorator."""

def checked(value):
    """Asserts, as pydantic and our own code do."""
    assert value, "asserts are kept"
    return value

def fails():
    """A traceback names this file and the line below."""
    raise ValueError("line 17")
'''
OURS = '''"""Our module docstring."""

def documented():
    """Our function docstring."""
    return "still runs"
'''
PROBE = """
import json, sys, traceback
sys.path.insert(0, ".")
import bot, lib
docs = [lib.__doc__, lib.Documented.__doc__, lib.Documented.decorated.__doc__,
        lib.checked.__doc__, lib.Documented().decorated,
        bot.__doc__, bot.documented.__doc__]
try:
    lib.checked(0)
    kept = None
except AssertionError as error:
    kept = str(error)
try:
    lib.fails()
except ValueError as error:
    frame = traceback.extract_tb(error.__traceback__)[-1]
columns = {c for code in (lib.fails.__code__, bot.documented.__code__)
           for _, _, c, _ in code.co_positions()}
print(json.dumps({"docs": docs, "assert": kept, "file": frame.filename, "line": frame.lineno,
                  "columns": sorted(map(str, columns)), "ours": bot.documented()}))
"""


def test_bytecode_drops_docstrings_and_columns_but_keeps_asserts_and_lines(tmp_path: Path) -> None:
    (tmp_path / "lib.py").write_text(LIBRARY)
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "__init__.py").write_text(OURS)

    _bundle_bot().compile_bytecode(tmp_path)

    assert not (tmp_path / "lib.py").exists()  # the libraries ship as bytecode only
    assert (tmp_path / "lib.pyc").exists()
    assert (tmp_path / "bot" / "__init__.py").exists()  # our sources stay, for tracebacks
    cached = tmp_path / "bot" / "__pycache__" / f"__init__.{sys.implementation.cache_tag}.pyc"
    assert cached.exists()
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE],
        cwd=tmp_path, env={"PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    probe = json.loads(done.stdout)
    assert probe["docs"] == [None] * 7  # and bot's None: its bytecode, not its source, ran
    assert probe["assert"] == "asserts are kept"
    assert probe["file"] == "/var/task/lib.py"  # where Lambda unpacks the zip
    assert probe["line"] == 17
    assert probe["columns"] == ["None"]  # no carets' positions
    assert probe["ours"] == "still runs"


@pytest.mark.slow
def test_the_bundle_answers_slack_from_its_own_contents(tmp_path: Path) -> None:
    out = tmp_path / "bot-lambda.zip"
    # The script builds the app and answers a signed request from the unpacked files before
    # it zips them (see bundle_bot.check): exit 0 means the bundle works on its own.
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bundle_bot.py"), "--out", str(out),
         "--build-dir", str(tmp_path / "build")],
        check=True,
    )  # fmt: skip
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
    assert "bot/aws_lambda/bot_handler.py" in names
    tag = sys.implementation.cache_tag
    assert f"bot/aws_lambda/__pycache__/bot_handler.{tag}.pyc" in names
    assert "slack_bolt/app/app.pyc" in names
    assert not any(n.endswith(("slack_bolt/app/app.py", "/py.typed")) for n in names)
    assert {"contract/jobs.py", "contract/run_folder.py", "contract/aws.py"} <= names
    assert "common/logs.py" in names  # every handler sets up its JSON logs at import
    assert not any(
        n.startswith(("pandas/", "numpy/", "flaml/", "plotly/", "boto3/")) for n in names
    )
    assert not any(n.startswith(("bot/console/", "uvicorn/")) for n in names)
    assert "bot/backends/local/launcher.py" not in names  # Lambda runs no local jobs
    assert not any(n.startswith("training/") for n in names)  # only the contract crosses over
    assert out.stat().st_size < 5 * MB
