"""Signed artifact links: round trip, expiry, tampering, swaps and path traversal."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from bot.links import (
    BAD_EXPIRY,
    BAD_JOB_ID,
    BAD_SIGNATURE,
    EXPIRED,
    UNSAFE_PATH,
    LinkRefused,
    LinkSigner,
    UnsafePath,
    derive_link_key,
    normalize_artifact_path,
)

SECRET = "8f42a73054b1749f8f58848be5e6502c"
NOW = 1_700_000_000.0


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def signer(clock: Clock) -> LinkSigner:
    return LinkSigner(derive_link_key(SECRET), clock=clock)


def parse(link: str) -> tuple[str, str, str, str]:
    """(job_id, path, expires, sig) the way the web route would read them."""
    parts = urlsplit(link)
    prefix, job_id, path = _split(parts.path)
    assert prefix == "artifacts"
    query = parse_qs(parts.query)
    return unquote(job_id), unquote(path), query["expires"][0], query["sig"][0]


def _split(path: str) -> tuple[str, str, str]:
    _, prefix, job_id, rest = path.split("/", 3)
    return prefix, job_id, rest


def refused(signer: LinkSigner, *args: object) -> str:
    with pytest.raises(LinkRefused) as info:
        signer.verify(*args)  # type: ignore[arg-type]
    return info.value.reason


def test_sign_shape_and_round_trip(signer: LinkSigner) -> None:
    link = signer.sign("job-1", "report/sweetviz.html", 3600)
    assert link.startswith("/artifacts/job-1/report/sweetviz.html?expires=")
    job_id, path, expires, sig = parse(link)
    assert (job_id, path, expires) == ("job-1", "report/sweetviz.html", str(int(NOW) + 3600))
    assert len(sig) == 64
    signer.verify(job_id, path, expires, sig)
    signer.verify(job_id, path, int(expires), sig)


def test_path_is_normalized_before_signing(signer: LinkSigner) -> None:
    _, path, expires, sig = parse(signer.sign("job-1", "./report//a.html", 60))
    assert path == "report/a.html"
    signer.verify("job-1", "report/./a.html", expires, sig)


def test_names_needing_quoting_round_trip(signer: LinkSigner) -> None:
    link = signer.sign("job-1", "charts/feature importance #1.png", 60)
    assert " " not in link and "#" not in link.split("?")[0]
    signer.verify(*parse(link))


def test_expiry_with_injected_clock(signer: LinkSigner, clock: Clock) -> None:
    args = parse(signer.sign("job-1", "model.pkl", 60))
    clock.now = NOW + 59
    signer.verify(*args)
    clock.now = NOW + 60
    assert refused(signer, *args) == EXPIRED
    clock.now = NOW + 10_000
    assert refused(signer, *args) == EXPIRED


def test_tampered_signature(signer: LinkSigner) -> None:
    job_id, path, expires, sig = parse(signer.sign("job-1", "model.pkl", 60))
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    assert refused(signer, job_id, path, expires, flipped) == BAD_SIGNATURE
    assert refused(signer, job_id, path, expires, sig.upper()) == BAD_SIGNATURE
    assert refused(signer, job_id, path, expires, sig[:-2]) == BAD_SIGNATURE
    assert refused(signer, job_id, path, expires, "") == BAD_SIGNATURE
    assert refused(signer, job_id, path, expires, "é" * 64) == BAD_SIGNATURE


def test_extended_expiry_is_a_bad_signature(signer: LinkSigner, clock: Clock) -> None:
    job_id, path, expires, sig = parse(signer.sign("job-1", "model.pkl", 60))
    clock.now = NOW + 120
    later = str(int(expires) + 3600)
    assert refused(signer, job_id, path, later, sig) == BAD_SIGNATURE


@pytest.mark.parametrize("expires", ["", "abc", "-5", "1e9", " 123", "1" * 20])
def test_malformed_expiry(signer: LinkSigner, expires: str) -> None:
    _, _, _, sig = parse(signer.sign("job-1", "model.pkl", 60))
    assert refused(signer, "job-1", "model.pkl", expires, sig) == BAD_EXPIRY


def test_job_swap_is_refused(signer: LinkSigner) -> None:
    _, path, expires, sig = parse(signer.sign("job-1", "model.pkl", 60))
    assert refused(signer, "job-2", path, expires, sig) == BAD_SIGNATURE


def test_path_swap_is_refused(signer: LinkSigner) -> None:
    job_id, _, expires, sig = parse(signer.sign("job-1", "report.html", 60))
    assert refused(signer, job_id, "model.pkl", expires, sig) == BAD_SIGNATURE
    assert refused(signer, job_id, "report.html/x", expires, sig) == BAD_SIGNATURE


def test_other_key_is_refused(signer: LinkSigner, clock: Clock) -> None:
    other = LinkSigner(derive_link_key("another-secret-entirely"), clock=clock)
    assert refused(other, *parse(signer.sign("job-1", "model.pkl", 60))) == BAD_SIGNATURE


TRAVERSALS = [
    "../other-job/model.pkl",
    "report/../../other-job/model.pkl",
    "..",
    "/etc/passwd",
    "//etc/passwd",
    "C:/Windows/win.ini",
    "report\\..\\..\\secret",
    "..\\secret",
    "model.pkl\x00.html",
    "%2e%2e/other-job/model.pkl",
    "%2E%2E%2Fother-job%2Fmodel.pkl",
    "%252e%252e%252fother-job",
    "%25252e%25252e/x",
    "%2fetc%2fpasswd",
    "report%5c..%5c..%5csecret",
    "model.pkl%00.html",
    "%ff%fe",
    "line\nbreak",
    "",
    "/",
    ".",
    "./",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_variants_are_refused(signer: LinkSigner, path: str) -> None:
    # A valid signature over the hostile path cannot even be made...
    with pytest.raises(ValueError):  # noqa: PT011 - UnsafePath or UnicodeDecodeError
        signer.sign("job-1", path, 60)
    # ...and a link carrying it is refused for its path, whatever the signature says.
    assert refused(signer, "job-1", path, str(int(NOW) + 60), "0" * 64) == UNSAFE_PATH


@pytest.mark.parametrize("job_id", ["", "..", "../job", "job/1", "-job", "a" * 65, "job\x00"])
def test_bad_job_ids(signer: LinkSigner, job_id: str) -> None:
    with pytest.raises(ValueError, match="job id"):
        signer.sign(job_id, "model.pkl", 60)
    assert refused(signer, job_id, "model.pkl", str(int(NOW) + 60), "0" * 64) == BAD_JOB_ID


def test_normalize_artifact_path() -> None:
    assert normalize_artifact_path("a/./b//c.png") == "a/b/c.png"
    assert normalize_artifact_path("report%20final.html") == "report final.html"
    assert normalize_artifact_path("..hidden/x..y") == "..hidden/x..y"
    with pytest.raises(UnsafePath):
        normalize_artifact_path("a/../b")


@pytest.mark.parametrize("expires_in_s", [0, -1, 7 * 24 * 3600 + 1, True])
def test_sign_rejects_bad_lifetimes(signer: LinkSigner, expires_in_s: int) -> None:
    with pytest.raises(ValueError, match="expires_in_s"):
        signer.sign("job-1", "model.pkl", expires_in_s)


def test_derive_link_key() -> None:
    key = derive_link_key(SECRET)
    assert len(key) == 32
    assert key == derive_link_key(SECRET)
    assert key != SECRET.encode()
    assert SECRET.encode() not in key
    assert key != derive_link_key(SECRET + "x")
    with pytest.raises(ValueError, match="empty"):
        derive_link_key("")


def test_signer_rejects_short_keys() -> None:
    with pytest.raises(ValueError, match="at least"):
        LinkSigner(b"short")
