"""The report link, opened the way a person opens it: in a real (headless) Chromium.

A real job runs through the bot (signed Slack requests in, real training), the results
message in the file's thread carries the link to the Sweetviz report, and Chromium renders
it from the bot's own web app. Then links that were tampered with or have expired must give
Chromium the bot's refusal page, never the report.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from bot.links import LinkSigner, UnsafePath, derive_link_key
from tests.bot.blocks import links
from tests.bot.harness import SIGNING_SECRET, BotUnderTest, wait_for
from tests.conftest import SAMPLE_CHURN
from tests.fakes.slack_api import FakeSlack, fake_slack

__all__ = ["fake_slack"]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian's `chromium`)"),
]

WIDTH, HEIGHT = 1280, 900
# Sweetviz needs ~6-8 s for this file on two busy cores and runs beside the search: with a
# budget of 25 s its report is ready well before the job's deadline.
BUDGET = "25s"
# Where the screenshot is copied so a person can look at it after the run.
STABLE_SCREENSHOT = Path(tempfile.gettempdir()) / "automl-report-link-browser" / "report.png"
OTHER_JOB = "otherjob1"  # a second job's run folder, made by the test

# The first line of each refusal (short plain text: nothing in it is rendered).
REFUSAL_TITLES = {
    410: "This link has expired.",
    403: "This link is not valid.",
    404: "Not found.",
}


# ---- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def bot(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[BotUnderTest]:
    under_test = BotUnderTest(fake_slack, tmp_path / "data", AUTOML_MAX_TIME_BUDGET_S=600)
    yield under_test
    under_test.close()
    terminate = getattr(under_test.bot.backend.launcher, "terminate_all", None)
    if terminate:
        terminate()


_profiles = count()


def chromium(
    tmp_path: Path, *args: str, timeout_s: float = 120
) -> subprocess.CompletedProcess[bytes]:
    """Run headless Chromium once, in a fresh profile; kill its whole process group if late."""
    assert CHROMIUM is not None
    profile = tmp_path / f"chromium-profile-{next(_profiles)}"
    command = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
        "--virtual-time-budget=5000",
        *args,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own group: a timeout kills the renderers too
        env={**os.environ, "HOME": str(tmp_path)},
    )
    try:
        out, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        raise AssertionError(f"Chromium did not finish within {timeout_s} s") from None
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def dump_dom(tmp_path: Path, url: str) -> str:
    """The DOM Chromium built for `url` (tried twice: a busy machine can starve it)."""
    last: subprocess.CompletedProcess[bytes] | None = None
    for _ in range(2):
        last = chromium(tmp_path, "--dump-dom", url)
        if last.returncode == 0 and last.stdout.strip():
            return last.stdout.decode("utf-8", "replace")
    assert last is not None
    raise AssertionError(
        f"Chromium gave no DOM for {url} (exit {last.returncode}): "
        f"{last.stderr.decode('utf-8', 'replace')[-2000:]}"
    )


def screenshot(tmp_path: Path, url: str, name: str) -> Path:
    out = tmp_path / name
    last: subprocess.CompletedProcess[bytes] | None = None
    for _ in range(2):
        out.unlink(missing_ok=True)
        last = chromium(tmp_path, f"--screenshot={out}", url)
        if last.returncode == 0 and out.is_file() and out.stat().st_size > 0:
            return out
    assert last is not None
    raise AssertionError(
        f"Chromium made no screenshot of {url} (exit {last.returncode}): "
        f"{last.stderr.decode('utf-8', 'replace')[-2000:]}"
    )


def share_and_train(bot: BotUnderTest) -> tuple[str, dict[str, Any]]:
    """Share churn.csv, ask for a model, wait for the results message; (job id, message)."""
    file = bot.fake.add_file("churn.csv", SAMPLE_CHURN.read_bytes(), channel=bot.fake.channel)
    message = bot.fake.message(bot.fake.channel, file["message_ts"])
    assert bot.post(bot.requests.file_shared(bot.fake.channel, message)).status == 200
    answer = bot.post(bot.requests.command(bot.fake.channel, f"train target=churned time={BUDGET}"))
    assert answer.status == 200
    jobs = wait_for(bot.jobs, 60, "the job to be recorded")
    job_id = jobs[0].job_id
    job = bot.wait_for_job_end(job_id, 300)
    assert job.status == "succeeded", job

    def results() -> dict[str, Any] | None:
        thread = bot.fake.thread(bot.fake.channel, file["message_ts"])[1:]
        for reply in thread:
            if "Open the data report" in links(reply.get("blocks") or []):
                return reply
        return None

    found = wait_for(results, 60, "the results message with the report link")
    assert found is not None
    return job_id, found


def link_in(message: dict[str, Any], label: str) -> str:
    shared = links(message["blocks"])
    assert label in shared, f"no link labelled {label!r} in {shared}"
    return shared[label]


def with_query(url: str, **changes: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query.update(changes)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def assert_not_blank(shot: Path, blank: Path) -> None:
    with Image.open(shot) as image, Image.open(blank) as empty:
        assert image.format == "PNG"
        assert image.size == (WIDTH, HEIGHT)
        assert empty.size == (WIDTH, HEIGHT)
        pixels = image.convert("RGB")
        colors = pixels.getcolors(maxcolors=WIDTH * HEIGHT) or []
        assert len(colors) > 50, f"only {len(colors)} colours: the page looks blank"
        difference = ImageChops.difference(pixels, empty.convert("RGB")).convert("L")
        changed = sum(difference.histogram()[17:])  # pixels that differ by more than 16
        assert changed > WIDTH * HEIGHT // 50, f"only {changed} pixels differ from a blank page"


# ---- the test ----------------------------------------------------------------------------------


def test_report_link_opens_in_chromium_and_bad_links_do_not(
    bot: BotUnderTest, tmp_path: Path
) -> None:
    job_id, results = share_and_train(bot)
    result = bot.bot.backend.artifacts.load_result(job_id)
    assert result is not None and result.artifacts.report == "report.html", result
    report_url = link_in(results, "Open the data report")
    assert report_url.startswith(f"{bot.url}/artifacts/{job_id}/report.html?")

    # The web app serves it as a sandboxed, uncached document.
    served = bot.get(report_url)
    assert served.status == 200
    assert served.headers["content-type"].startswith("text/html")
    assert "sandbox" in served.headers["content-security-policy"]
    assert "no-store" in served.headers["cache-control"]
    report_html = (bot.data_dir / "runs" / job_id / "report.html").read_bytes()
    assert served.body == report_html

    # ---- Chromium renders the report -------------------------------------------------------
    shot = screenshot(tmp_path, report_url, "report.png")
    blank = screenshot(tmp_path, "about:blank", "blank.png")
    assert_not_blank(shot, blank)
    STABLE_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, STABLE_SCREENSHOT)
    print(f"\nscreenshot of the report: {shot}\n  copied to {STABLE_SCREENSHOT}")

    dom = dump_dom(tmp_path, report_url)
    assert "sweetviz" in dom.lower(), "the page is not Sweetviz's report"
    for column in ("tenure_months", "monthly_charges", "churned"):
        assert column in dom
    report_marker = "tenure_months"
    assert not [title for title in REFUSAL_TITLES.values() if title in dom]

    # ---- links that must be refused ---------------------------------------------------------
    key = derive_link_key(SIGNING_SECRET)  # how bot.runtime derives it from the signing secret
    now = LinkSigner(key)
    an_hour_ago = LinkSigner(key, clock=lambda: time.time() - 3600)

    # A second job's report, to point altered links at.
    other_run = bot.data_dir / "runs" / OTHER_JOB
    other_run.mkdir(parents=True)
    (other_run / "report.html").write_text(
        "<!DOCTYPE html><html><head><title>Other job's report</title></head>"
        "<body>OTHER-JOB-SECRET</body></html>"
    )
    # Controls: signed now with the same key, both files open, so a refusal below is the
    # link's fault, not the key's or the file's.
    assert bot.get(bot.url + now.sign(job_id, "report.html", 600)).status == 200
    assert bot.get(bot.url + now.sign(OTHER_JOB, "report.html", 600)).status == 200
    with pytest.raises(UnsafePath):
        now.sign(job_id, f"../{OTHER_JOB}/report.html", 600)  # never signed in the first place

    path, _, query = report_url.partition("?")
    params = dict(urllib.parse.parse_qsl(query))
    sig = params["sig"]
    flipped = ("1" if sig[0] == "0" else "0") + sig[1:]
    assert flipped != sig
    refused = {
        "expired": (bot.url + an_hour_ago.sign(job_id, "report.html", 60), 410),
        "signature changed": (with_query(report_url, sig=flipped), 403),
        "expiry pushed back": (
            with_query(report_url, expires=str(int(params["expires"]) + 86400)),
            403,
        ),
        "signature cut": (with_query(report_url, sig=sig[:-2]), 403),
        "no signature": (path, 403),
        "another job's file": (report_url.replace(f"/{job_id}/", f"/{OTHER_JOB}/"), 403),
        "another file of the job": (report_url.replace("/report.html", "/spec.json"), 403),
        "dot-dot, slash encoded": (
            report_url.replace("/report.html", f"/..%2F{OTHER_JOB}%2Freport.html"),
            403,
        ),
        "dot-dot, double encoded": (
            report_url.replace("/report.html", f"/%252e%252e/{OTHER_JOB}/report.html"),
            403,
        ),
        "dot-dot to the database": (
            report_url.replace("/report.html", "/..%2F..%2Fjobs.sqlite3"),
            403,
        ),
        "signed, but no such file": (bot.url + now.sign(job_id, "nothing-here.html", 600), 404),
    }
    for what, (url, status) in refused.items():
        answer = bot.get(url)
        assert answer.status == status, f"{what}: {answer.status} for {url}"
        assert answer.headers["content-type"].startswith("text/plain"), what
        assert answer.text.splitlines()[0] == REFUSAL_TITLES[status], what
        assert report_marker not in answer.text and "OTHER-JOB-SECRET" not in answer.text, what
        assert "Traceback" not in answer.text, what

        dom = dump_dom(tmp_path, url)
        assert REFUSAL_TITLES[status] in dom, f"{what}: Chromium showed {dom[:500]}"
        assert "sweetviz" not in dom.lower(), f"{what}: Chromium got the report"
        assert "OTHER-JOB-SECRET" not in dom, f"{what}: Chromium got the other job's report"
    # The expired page tells the person how to get a fresh link.
    assert "/automl status" in dump_dom(tmp_path, refused["expired"][0])

    # A person can still get a fresh, working link from the bot.
    bot.post(bot.requests.command(bot.fake.channel, f"status {job_id}"))
    fresh_answer = wait_for(
        lambda: [e for e in bot.ephemerals() if "Fresh links" in (e.get("text") or "")],
        60,
        "fresh links",
    )
    fresh = re.findall(r"<(http[^|>]+)\|report>", fresh_answer[-1]["text"])
    assert fresh and fresh[0].startswith(f"{bot.url}/artifacts/{job_id}/report.html?")
    assert "sweetviz" in dump_dom(tmp_path, fresh[0]).lower()
