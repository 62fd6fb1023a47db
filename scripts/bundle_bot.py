"""Build the bot's Lambda package: `python scripts/bundle_bot.py --out dist/bot-lambda.zip`.

What goes in: the `bot` package (without the console and the command line, which Lambda
never runs), `training/__init__.py` and `training/contracts.py` (the contract both sides
share), and the locked `bot` extra built for Lambda's platform (Linux x86_64, CPython 3.11),
minus what Lambda does not use. boto3 comes from the Lambda runtime. Bytecode is compiled
with unchecked hashes, so a cold start never re-checks or recompiles a source file; the
libraries ship as bytecode only. The zip is reproducible: sorted entries, fixed timestamps.
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "requirements" / "bot.lock"
# In the bot extra for `automl serve`, not needed behind API Gateway.
NOT_ON_LAMBDA = ("uvicorn", "click", "h11")
EXCLUDED_CODE = ("bot/console", "bot/cli.py")
# Parts of the libraries the bot never imports on Lambda (tests/test_bundle.py imports the
# handler and answers a request from the bundle alone, so a wrong entry here fails there).
UNUSED_PARTS = (
    "bin",
    "slack",  # slack_sdk's deprecated alias package
    "pydantic/v1",
    "slack_sdk/socket_mode",
    "slack_sdk/rtm",
    "slack_sdk/rtm_v2",
    "slack_sdk/scim",
    "slack_sdk/audit_logs",
    *(
        f"slack_bolt/adapter/{name}"
        for name in (
            "aiohttp", "asgi", "bottle", "cherrypy", "django", "falcon", "flask",
            "google_cloud_functions", "pyramid", "sanic", "socket_mode", "tornado", "wsgi",
        )
    ),
)  # fmt: skip
PRUNED_DIRS = ("tests", "test", "__pycache__")
PRUNED_SUFFIXES = (".pyi", ".c", ".h", ".pyx", ".pxd")
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def lambda_requirements(build: Path) -> Path:
    """The lock without the packages Lambda does not need."""
    kept = []
    for line in LOCK.read_text().splitlines():
        name = line.split("==", 1)[0].strip().lower()
        if "==" in line and not line.startswith(" ") and name not in NOT_ON_LAMBDA:
            kept.append(line.strip())
    path = build / "requirements.txt"
    path.write_text("\n".join(kept) + "\n")
    return path


def install_dependencies(requirements: Path, target: Path) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    subprocess.run(
        [
            uv, "pip", "install", "--quiet", "--no-deps", "--no-compile",
            "--target", str(target),
            "--python-platform", "x86_64-manylinux2014",
            "--python-version", "3.11",
            "--only-binary", ":all:",
            "-r", str(requirements),
        ],
        check=True,
    )  # fmt: skip


def copy_code(target: Path) -> None:
    def ignore(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).relative_to(REPO)
        return {
            n
            for n in names
            if n == "__pycache__" or str(relative / n) in EXCLUDED_CODE or n.endswith(".pyc")
        }

    shutil.copytree(REPO / "bot", target / "bot", ignore=ignore)
    (target / "training").mkdir()
    for name in ("__init__.py", "contracts.py"):
        shutil.copy2(REPO / "training" / name, target / "training" / name)


# Slack's libraries ship an asyncio twin of every module; the bot is synchronous.
UNUSED_FILES = (
    "slack_sdk/web/async_*",
    "slack_sdk/web/legacy_*",
    "slack_bolt/app/async_*",
    "slack_bolt/adapter/*/async_*",
)


def prune(target: Path) -> None:
    for part in UNUSED_PARTS:
        shutil.rmtree(target / part, ignore_errors=True)
    for pattern in UNUSED_FILES:
        for path in target.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    for path in sorted(target.rglob("*"), reverse=True):
        if path.is_dir() and path.name in PRUNED_DIRS:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.suffix in PRUNED_SUFFIXES:
            path.unlink()


def compile_bytecode(target: Path) -> None:
    """Bytecode for everything; the libraries ship it alone, our own code with its source.

    The libraries' sources would double the zip (the 5 MB goal), and a traceback through
    them still names the file and line; the bot's own sources stay for readable tracebacks.
    """
    ours = {target / "bot", target / "training"}
    for folder in sorted(p for p in target.iterdir() if p.is_dir()):
        legacy = folder not in ours  # `module.pyc` next to where `module.py` was: importable
        ok = compileall.compile_dir(
            folder,
            quiet=1,
            workers=0,
            legacy=legacy,
            invalidation_mode=compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        if not ok:
            raise SystemExit(f"compiling {folder.name} failed")
        if legacy:
            for source in folder.rglob("*.py"):
                source.unlink()


def write_zip(source: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_suffix(".zip.part")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(path.relative_to(source)), date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    temporary.replace(out)


def main() -> int:
    if sys.version_info[:2] != (3, 11):
        print("error: build the bundle with Python 3.11, Lambda's runtime", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "bot-lambda.zip")
    parser.add_argument("--build-dir", type=Path, default=REPO / "build" / "bot-lambda")
    args = parser.parse_args()

    build = args.build_dir
    shutil.rmtree(build, ignore_errors=True)
    package = build / "package"
    package.mkdir(parents=True)
    install_dependencies(lambda_requirements(build), package)
    copy_code(package)
    prune(package)
    compile_bytecode(package)
    write_zip(package, args.out)
    size = args.out.stat().st_size
    print(f"{args.out}: {size / 1024 / 1024:.2f} MB zipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
