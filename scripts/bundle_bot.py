"""Build the bot's Lambda package: `python scripts/bundle_bot.py --out dist/bot-lambda.zip`.

What goes in: the `bot` package (without the console, the command line and the local
backend's process pool, which Lambda never runs), the `contract` and `common` packages
(what the bot shares with the training job and the stack; nothing of `training`), and the
locked `bot` extra built for Lambda's platform (Linux x86_64, CPython 3.11), minus what Lambda
does not use. boto3 comes from the Lambda runtime. Bytecode is compiled with unchecked hashes,
so a cold start never re-checks or recompiles a source file; the libraries ship as bytecode
only, and all bytecode without docstrings or column positions (asserts and line numbers
stay): a fifth less zip. The zip is reproducible: sorted entries, fixed timestamps.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import json
import marshal
import shutil
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from common.files import replacing

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "requirements" / "bot.lock"
# In the bot extra for `automl serve`, not needed behind API Gateway.
NOT_ON_LAMBDA = ("uvicorn", "click", "h11")
# Lambda runs the aws backend: of the local one it uses the stores' shared parts, never the
# process pool (`check` imports its three handlers from the bundle alone, so a wrong entry fails).
EXCLUDED_CODE = (
    "bot/console",
    "bot/cli.py",
    "bot/backends/local/launcher.py",
    "bot/backends/local/warm_start.py",
)
# Parts of the libraries the bot never imports on Lambda (`check` below builds the app and
# answers a request from the bundle alone, so a wrong entry here fails the build).
UNUSED_PARTS = (
    "bin",
    "slack",  # slack_sdk's deprecated alias package
    "pydantic/v1",
    "slack_sdk/socket_mode",
    "slack_sdk/rtm",
    "slack_sdk/rtm_v2",
    "slack_sdk/scim",
    "slack_sdk/audit_logs",
    "fastapi/.agents",  # Markdown for coding assistants; no code reads it
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
# Type checkers' marker (PEP 561), and uv's lock of the folder it installs into.
PRUNED_NAMES = ("py.typed", ".lock")
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks the zip
# The bot's imports from outside bot/: the values and the standard-library helpers it shares.
SHARED_PACKAGES = ("contract", "common")


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
    for package in SHARED_PACKAGES:
        copy_package(package, target)


def copy_package(name: str, target: Path) -> None:
    """Every .py of an importable package, found by import rather than by a list of files."""
    (root,) = (Path(p) for p in importlib.import_module(name).__path__)
    for source in sorted(root.rglob("*.py")):
        relative = Path(name) / source.relative_to(root)
        if "__pycache__" in source.parts or str(relative) in EXCLUDED_CODE:
            continue
        copy = target / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, copy)


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
        elif path.is_file() and (path.suffix in PRUNED_SUFFIXES or path.name in PRUNED_NAMES):
            path.unlink()


def compile_bytecode(target: Path) -> None:
    """Bytecode for everything; the libraries ship it alone, our own code with its source.

    The libraries' sources would double the zip (the 5 MB goal), and a traceback through
    them still names the file and line; the bot's own sources stay for readable tracebacks.
    The file names inside the bytecode are where Lambda unpacks the zip, not the build
    folder: otherwise the zip's size and bytes depend on where it was built.

    Compiled in a child interpreter under `-X no_debug_ranges`: Python 3.11 stores each
    instruction's columns for tracebacks' carets (^^^), a quarter of the libraries' bytecode;
    without them a traceback still names every file and line. Nothing in the bundle reads
    the columns (`co_positions`).
    """
    subprocess.run(
        [sys.executable, "-X", "no_debug_ranges", __file__, "--compile-only", str(target)],
        check=True,
    )


def without_docstrings(tree: ast.Module) -> ast.Module:
    """The module, class and function docstrings left out, their `__doc__` None, as `-OO`
    does, but with asserts kept (`optimize=2` would drop them; our code and libraries assert).

    Nothing on the bot's Lambda path reads a docstring at run time: FastAPI and pydantic turn
    them into OpenAPI and JSON Schema descriptions (the app serves no OpenAPI, the bot makes
    no JSON Schema), pydantic-settings into CLI help; the rest guard against None, like -OO.
    Every other statement keeps its line number, so our sources still match tracebacks.
    """
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and ast.get_docstring(node, clean=False) is not None
        ):
            del node.body[0]
            if not node.body and not isinstance(node, ast.Module):  # it was only a docstring
                # On the definition's first line, where its implicit `return None` was.
                first = min([node, *node.decorator_list], key=lambda n: n.lineno)
                node.body.append(ast.copy_location(ast.Pass(), first))
    return tree


def _compile_tree(target: Path) -> None:
    """What `compile_bytecode` runs in the child: what `compileall` would write (hash-based
    `.pyc`, unchecked: a cold start never re-reads or recompiles a source), from the source
    without docstrings, at optimize=0 whatever PYTHONOPTIMIZE says (asserts stay)."""
    if not sys._xoptions.get("no_debug_ranges"):
        raise SystemExit("compile under `python -X no_debug_ranges`")
    ours = {"bot", *SHARED_PACKAGES}
    header = importlib.util.MAGIC_NUMBER + (0b01).to_bytes(4, "little")  # PEP 552, unchecked
    tag = sys.implementation.cache_tag
    for source in sorted(target.rglob("*.py")):
        relative = source.relative_to(target)
        data = source.read_bytes()
        tree = without_docstrings(ast.parse(data, str(relative)))
        path = f"{LAMBDA_TASK_ROOT}/{relative}"
        code = compile(tree, path, "exec", dont_inherit=True, optimize=0)
        pyc = header + importlib.util.source_hash(data) + marshal.dumps(code)
        if relative.parts[0] in ours:  # in __pycache__/, next to the source
            cached = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
            cached.parent.mkdir(exist_ok=True)
            cached.write_bytes(pyc)
        else:  # `module.pyc` where `module.py` was: importable without the source
            source.with_suffix(".pyc").write_bytes(pyc)
            source.unlink()


def write_zip(source: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        replacing(out) as temporary,
        zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
    ):
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(path.relative_to(source)), date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)


# ---- the smoke check: the bundle alone answers a Slack request ---------------------------------

FIRST_REQUEST = r"""
import base64, hashlib, hmac, json, sys, time, urllib.parse
started = time.perf_counter()
import bot.aws_lambda.bot_handler as handler_module
handler_module._asgi_handler()  # what the first request does: import the app and build it
imported = time.perf_counter()
body = urllib.parse.urlencode({"command": "/automl", "text": "help", "user_id": "U1",
    "channel_id": "C1", "team_id": "T1", "response_url": "https://hooks.slack.com/x",
    "trigger_id": "1.2.3"})
ts = str(int(time.time()))
sig = "v0=" + hmac.new(b"bench-secret", f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
event = {"version": "2.0", "routeKey": "POST /slack/events", "rawPath": "/slack/events",
    "rawQueryString": "", "isBase64Encoded": True, "body": base64.b64encode(body.encode()).decode(),
    "headers": {"content-type": "application/x-www-form-urlencoded", "host": "x.example",
                "x-slack-request-timestamp": ts, "x-slack-signature": sig},
    "requestContext": {"http": {"method": "POST", "path": "/slack/events",
        "protocol": "HTTP/1.1", "sourceIp": "1.1.1.1", "userAgent": "Slackbot"},
        "accountId": "1", "apiId": "x", "domainName": "x.example", "requestId": "r",
        "routeKey": "POST /slack/events", "stage": "$default", "timeEpoch": 0}}
class Context:
    function_name = "automl-bot"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:automl-bot"
    aws_request_id = "r"
    def get_remaining_time_in_millis(self): return 30000
answer = handler_module.handler(event, Context())
done = time.perf_counter()
import bot.aws_lambda.completion_handler as completion_module
completion_module._completion()  # the other Lambda of this zip: its imports, its backend
import bot.aws_lambda.job_credentials  # the third: the training jobs' credential issuer
heavy = [m for m in ("pandas", "numpy", "flaml", "plotly", "sklearn") if m in sys.modules]
print(json.dumps({"import_s": imported - started, "first_answer_s": done - started,
    "status": answer["statusCode"], "heavy": heavy}))
"""


class _InvokeAccepted(BaseHTTPRequestHandler):
    """Lambda's Invoke API for an asynchronous call: 202, whatever the payload."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


def first_requests(package: Path, runs: int = 1) -> list[dict[str, Any]]:
    """Fresh interpreters with only `package` and the runtime's boto3 on their path, each
    building the app and answering a signed `/automl help` as API Gateway would deliver it.

    The slash command's slow half goes to Lambda's Invoke API (Bolt's lazy runner); a local
    endpoint accepts it, so creating that boto3 client and the call are part of the figures.
    No other AWS call happens: Slack's secrets are given as environment variables.
    """
    import boto3

    server = ThreadingHTTPServer(("127.0.0.1", 0), _InvokeAccepted)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    runtime_libs = str(Path(boto3.__file__).parents[1])  # Lambda's runtime provides boto3
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONDONTWRITEBYTECODE": "1",  # the check must not add files to what gets zipped
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "smoke",
        "AWS_SECRET_ACCESS_KEY": "smoke",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_LAMBDA": f"http://127.0.0.1:{server.server_address[1]}",
        "AUTOML_BACKEND": "aws",
        "AUTOML_BUCKET": "smoke-bucket",
        "AUTOML_TABLE": "smoke-table",
        "AUTOML_JOB_QUEUE": "smoke-queue",
        "AUTOML_JOB_DEFINITION": "smoke-definition",
        "AUTOML_PUBLIC_URL": "https://smoke.execute-api.us-east-1.amazonaws.com",
        "SLACK_BOT_TOKEN": "xoxb-smoke",
        "SLACK_SIGNING_SECRET": "bench-secret",
    }
    # -I ignores PYTHONPATH and the user's site, and -S the venv's .pth files (its editable
    # install would import `training` from the repo): the path is set by hand, bundle first.
    script = f"import sys; sys.path[:0] = {[str(package), runtime_libs]!r}\n" + FIRST_REQUEST
    out = []
    try:
        for _ in range(runs):
            done = subprocess.run(
                [sys.executable, "-I", "-S", "-c", script],
                env=env, cwd=package, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise SystemExit(f"the bundle could not answer a request:\n{done.stderr[-3000:]}")
            out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        server.shutdown()
    return out


def check(package: Path) -> None:
    (answer,) = first_requests(package)
    if answer["status"] != 200 or answer["heavy"]:
        raise SystemExit(f"the bundle answered badly: {answer}")


def main() -> int:
    if sys.version_info[:2] != (3, 11):
        print("error: build the bundle with Python 3.11, Lambda's runtime", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "bot-lambda.zip")
    parser.add_argument("--build-dir", type=Path, default=REPO / "build" / "bot-lambda")
    parser.add_argument("--compile-only", type=Path, help=argparse.SUPPRESS)  # see compile_bytecode
    args = parser.parse_args()
    if args.compile_only:
        _compile_tree(args.compile_only)
        return 0

    build = args.build_dir
    shutil.rmtree(build, ignore_errors=True)
    package = build / "package"
    package.mkdir(parents=True)
    install_dependencies(lambda_requirements(build), package)
    copy_code(package)
    prune(package)
    compile_bytecode(package)
    check(package)  # before zipping: a pruned-away module fails the build, not a deploy
    write_zip(package, args.out)
    size = args.out.stat().st_size
    print(f"{args.out}: {size / 1024 / 1024:.2f} MB zipped ({size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
