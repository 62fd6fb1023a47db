"""Reports cannot run code: a real Sweetviz report of hostile column names and cells keeps
them as text, and the bot serves reports under a strict Content-Security-Policy."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI

from bot.links import LinkSigner
from bot.web import ArtifactFiles, _add_artifact_route

pytestmark = pytest.mark.slow

NAME = "<img src=x onerror=alert(1)>"
CELL = "<script>alert(1)</script>"


def hostile_report(path: Path) -> str:
    # The report as a job makes it, in a child process (this one stays as it was).
    from training.outputs.report import start_report

    rows = 60
    frame = pd.DataFrame(
        {
            NAME: [i % 7 for i in range(rows)],
            "notes": [CELL if i % 3 == 0 else f"a & b {i % 4}" for i in range(rows)],
            "label": [i % 2 for i in range(rows)],
        }
    )
    outcome = start_report(frame, "label", "classification", path, fork=False).wait(180)
    assert outcome.path == path, outcome.note
    return path.read_text(encoding="utf-8")


def get(app: FastAPI, url: str) -> tuple[int, dict[str, str], bytes]:
    """One GET through the ASGI app, no server."""
    path, _, query = url.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "root_path": "",
    }
    sent: list[dict[str, Any]] = []

    async def run() -> None:
        requested, done = False, asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()  # the client stays until the whole response is sent
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        await app(scope, receive, send)

    asyncio.run(run())
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body


def test_hostile_names_and_cells_stay_text_and_the_report_is_served_sandboxed(
    tmp_path: Path,
) -> None:
    run = tmp_path / "runs" / "job-1"
    run.mkdir(parents=True)
    html = hostile_report(run / "report.html")
    # Nothing from the data became markup; all of it is still there, as text.
    assert "onerror=alert" not in html.replace("&lt;img src=x onerror=alert(1)&gt;", "")
    assert CELL not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "notes" in html and "label" in html  # ordinary names unchanged

    signer = LinkSigner(b"k" * 32)
    api = FastAPI()
    _add_artifact_route(api, ArtifactFiles(lambda job, rel: run / rel, signer))
    status, headers, body = get(api, signer.sign("job-1", "report.html", 600))
    assert status == 200 and body == html.encode("utf-8")
    policy = [part.strip() for part in headers["content-security-policy"].split(";")]
    sandbox = next(part for part in policy if part.startswith("sandbox"))
    # Sweetviz inlines its scripts: they may run, but in an opaque origin, not the bot's.
    assert "allow-scripts" in sandbox and "allow-same-origin" not in sandbox
    assert "default-src 'none'" in policy
    assert "connect-src" not in headers["content-security-policy"]  # nothing may be sent
    assert headers["x-content-type-options"] == "nosniff"
