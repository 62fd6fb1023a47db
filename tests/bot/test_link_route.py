"""The bot's link route draws what a store delivers, the same for both backends, and refuses
in a short plain-text sentence; a store that fails is a sentence too, never a stack trace."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI

from bot.links import InlineContent, LinkSigner, RedirectTo
from bot.web import REPORT_CSP, ArtifactFiles, _add_artifact_route, served_links
from tests.bot.test_report_safety import get

SIGNER = LinkSigner(b"k" * 32)


def route(deliver: object) -> FastAPI:
    api = FastAPI()
    _add_artifact_route(api, ArtifactFiles(deliver, SIGNER))  # type: ignore[arg-type]
    return api


def test_each_kind_of_delivery(tmp_path: Path) -> None:
    (tmp_path / "model.joblib").write_bytes(b"model")
    redirect = RedirectTo("https://bucket.s3.amazonaws.com/runs/j/big.html?X-Amz-Expires=300")
    deliveries: dict[str, object] = {
        "report.html": InlineContent("report.html", b"<html>r</html>"),
        "leaderboard.csv": InlineContent("leaderboard.csv", b"a,b\n"),
        "model.joblib": tmp_path / "model.joblib",
        "big.html": redirect,
    }
    api = route(lambda job, path: deliveries[path])

    status, headers, body = get(api, SIGNER.sign("job-1", "report.html", 600))
    assert (status, body) == (200, b"<html>r</html>")
    assert headers["content-security-policy"] == REPORT_CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert "content-disposition" not in headers  # shown, sandboxed

    status, headers, body = get(api, SIGNER.sign("job-1", "leaderboard.csv", 600))
    assert (status, body) == (200, b"a,b\n")
    assert headers["content-disposition"] == 'attachment; filename="leaderboard.csv"'

    status, headers, body = get(api, SIGNER.sign("job-1", "model.joblib", 600))
    assert (status, body) == (200, b"model")
    assert headers["content-disposition"].startswith("attachment")

    status, headers, body = get(api, SIGNER.sign("job-1", "big.html", 600))
    assert (status, body) == (302, b"")
    assert headers["location"] == redirect.url
    assert "no-store" in headers["cache-control"]
    assert headers["referrer-policy"] == "no-referrer"


def test_refusals_are_short_plain_text() -> None:
    def nothing(job: str, path: str) -> Path:
        raise FileNotFoundError(path)

    api = route(nothing)
    expired = LinkSigner(b"k" * 32, clock=lambda: time.time() - 3600).sign("job-1", "r.html", 60)
    link = SIGNER.sign("job-1", "r.html", 600)
    cases = {
        expired: (410, "This link has expired."),
        link.replace("sig=", "sig=0"): (403, "This link is not valid."),
        link.replace("/r.html", "/%2e%2e/x/r.html"): (403, "This link is not valid."),
        link: (404, "Not found."),
    }
    for url, (expected, first_line) in cases.items():
        status, headers, body = get(api, url)
        assert status == expected, url
        assert headers["content-type"].startswith("text/plain"), url
        assert headers["x-content-type-options"] == "nosniff"
        assert body.decode().splitlines()[0] == first_line, url
        assert len(body) < 200


def test_a_store_that_fails_is_answered_with_a_sentence() -> None:
    def broken(job: str, path: str) -> Path:
        raise RuntimeError("AccessDenied: the role lost s3:GetObject")

    status, headers, body = get(route(broken), SIGNER.sign("job-1", "report.html", 600))
    assert status == 503
    assert headers["content-type"].startswith("text/plain")
    assert (
        body.decode()
        == "The file could not be fetched just now.\nTry the link again in a minute.\n"
    )


def test_both_stores_serve_their_links_through_the_route(tmp_path: Path) -> None:
    """One route for both backends: each store says how its files go out (`deliver`)."""
    from bot.backends.aws.artifacts import S3ArtifactStore
    from bot.backends.local.artifacts import LocalArtifactStore

    local = LocalArtifactStore(tmp_path, signer=SIGNER)
    (tmp_path / "runs" / "job-1").mkdir(parents=True)
    (tmp_path / "runs" / "job-1" / "report.html").write_text("<html></html>")
    files = served_links(local)
    assert files is not None and files.signer is SIGNER
    assert files.deliver("job-1", "report.html") == (tmp_path / "runs/job-1/report.html").resolve()
    s3 = served_links(S3ArtifactStore("bucket", s3_client=object(), signer=SIGNER))
    assert s3 is not None and s3.signer is SIGNER
    # A store that signs no links has none to serve.
    assert served_links(LocalArtifactStore(tmp_path)) is None
    assert served_links(S3ArtifactStore("bucket", s3_client=object())) is None
