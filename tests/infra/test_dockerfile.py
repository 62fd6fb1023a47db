"""training/Dockerfile, read (no Docker engine here): a pinned base, bytecode the prune keeps."""

from __future__ import annotations

import re
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[2] / "training" / "Dockerfile"
PIN_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pin-base-image.sh"


def _instructions() -> list[str]:
    """The instructions, continuation lines joined, comments left out."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_every_stage_starts_from_the_base_pinned_by_digest() -> None:
    lines = _instructions()
    (arg,) = [line for line in lines if line.startswith("ARG PYTHON_IMAGE=")]
    assert re.fullmatch(
        r"ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", arg
    )
    assert lines.index(arg) < min(i for i, line in enumerate(lines) if line.startswith("FROM"))
    froms = [line for line in lines if line.startswith("FROM")]
    assert froms == ["FROM ${PYTHON_IMAGE} AS build", "FROM ${PYTHON_IMAGE}"]
    # The script that moves the pin rewrites exactly that line.
    assert "s|^ARG PYTHON_IMAGE=.*|" in PIN_SCRIPT.read_text(encoding="utf-8")


def test_bytecode_is_compiled_after_the_prune_and_for_the_standard_library() -> None:
    lines = _instructions()
    build_end = lines.index("FROM ${PYTHON_IMAGE}")
    prune = next(i for i, line in enumerate(lines) if "prune-site-packages.sh /opt/venv" in line)
    compiles = [i for i, line in enumerate(lines) if "-m compileall" in line]
    venv_compile = [i for i in compiles if "/opt/venv/lib/python3.11/site-packages" in lines[i]]
    assert venv_compile and prune < venv_compile[0] < build_end  # the prune keeps it
    assert not any("__pycache__" in line for line in lines[venv_compile[0] :])
    stdlib = [i for i in compiles if lines[i].endswith("/usr/local/lib/python3.11")]
    assert stdlib and stdlib[0] > build_end  # in the runtime stage
    assert all("--invalidation-mode unchecked-hash" in lines[i] for i in compiles)
    assert "COPY --from=build /opt/venv /opt/venv" in lines[build_end:]
