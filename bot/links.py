"""Signed, expiring links to one job's artifacts (the local backend's "report links").

A link is a URL path and query served by the bot's own web app::

    /artifacts/<job_id>/<path>?expires=<unix seconds>&sig=<hex HMAC-SHA256>

The HMAC covers a version label, the job id, the *normalized* artifact path and the expiry,
so a signature opens exactly one file of one job until one moment: changing the job, the
path or the expiry breaks it. Paths are checked before anything else: after percent-decoding
(repeated, so double encoding does not hide a `..`), a path must be relative, use `/` only,
contain no NUL or control characters and no `..` segment.

The link key is derived from the Slack signing secret (`derive_link_key`) so the secret Slack
uses to sign requests to us is never itself used for anything else; every process that has
the secret (the bot, and on AWS the completion Lambda that writes the results) makes links
the bot's web app accepts.

Once a link checks out, the artifact store that made it says how the file is delivered
(`LinkedArtifacts.deliver`): a local file (`Path`), the bytes themselves (`InlineContent`), or
a redirect to a fresh short-lived download (`RedirectTo`). The web app only draws the answer.

Standard library only: this module is on the Lambda's import path.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol, runtime_checkable
from urllib.parse import quote, unquote

from contract.aws import ARTIFACT_LINK_PREFIX
from contract.jobs import JOB_ID_PATTERN

# Reasons a link is refused, for logs and for the web layer's choice of status code.
EXPIRED: Final = "expired"
BAD_SIGNATURE: Final = "bad signature"
UNSAFE_PATH: Final = "unsafe path"
BAD_JOB_ID: Final = "bad job id"
BAD_EXPIRY: Final = "bad expiry"

LINK_PREFIX: Final = ARTIFACT_LINK_PREFIX
MAX_EXPIRES_IN_S: Final = 7 * 24 * 3600  # settings cap link expiry at 168 h
MIN_KEY_BYTES: Final = 16

_MAC_LABEL: Final = b"automl-bot artifact link v1"
_HKDF_SALT: Final = b"automl-bot/hkdf-salt/v1"
_HKDF_INFO: Final = b"automl-bot/artifact-link-key/v1"
_SIG_RE: Final = re.compile(r"[0-9a-f]{64}")
_EXPIRES_RE: Final = re.compile(r"[0-9]{1,12}")
_DRIVE_RE: Final = re.compile(r"[A-Za-z]:")
_MAX_DECODE_ROUNDS: Final = 3
_MAX_PATH_CHARS: Final = 1024


class UnsafePath(ValueError):
    """An artifact path that could leave the run folder (or is otherwise unusable)."""


class LinkRefused(Exception):
    """A link that must not be served; `reason` is one of the module's reason constants."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def normalize_artifact_path(artifact_path: str) -> str:
    """The canonical relative form of `artifact_path`, or `UnsafePath`.

    Percent-decoding is applied until the string stops changing (at most a few rounds), and
    every check runs on the decoded form. Empty and `.` segments are dropped.
    """
    if not isinstance(artifact_path, str):
        raise UnsafePath("artifact path must be a string")
    decoded = artifact_path
    for _ in range(_MAX_DECODE_ROUNDS):
        once = unquote(decoded, errors="strict")
        if once == decoded:
            break
        decoded = once
    else:
        if unquote(decoded, errors="strict") != decoded:
            raise UnsafePath("artifact path is encoded too many times")
    if not decoded or len(decoded) > _MAX_PATH_CHARS:
        raise UnsafePath("artifact path is empty or too long")
    if "\x00" in decoded:
        raise UnsafePath("artifact path contains NUL")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in decoded):
        raise UnsafePath("artifact path contains control characters")
    if "\\" in decoded:
        raise UnsafePath("artifact path contains a backslash")
    if decoded.startswith("/") or _DRIVE_RE.match(decoded):
        raise UnsafePath("artifact path is absolute")
    segments = decoded.split("/")
    if ".." in segments:
        raise UnsafePath("artifact path leaves the run folder")
    kept = [segment for segment in segments if segment not in ("", ".")]
    if not kept:
        raise UnsafePath("artifact path names no file")
    return "/".join(kept)


def check_job_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not re.fullmatch(JOB_ID_PATTERN, job_id):
        raise ValueError(f"not a valid job id: {job_id!r}")
    return job_id


def derive_link_key(signing_secret: str) -> bytes:
    """A 32-byte key for artifact links, derived from the Slack signing secret (HKDF-SHA256).

    One extract and one expand step of RFC 5869 with fixed salt and info labels: the result
    is unrelated to the secret for anyone without it, and differs from it.
    """
    return derive_key(signing_secret, _HKDF_INFO)


def derive_key(signing_secret: str, info: bytes) -> bytes:
    """HKDF-SHA256 of the signing secret for one use, named by `info` (one key per use)."""
    if not signing_secret:
        raise ValueError("the signing secret is empty")
    prk = hmac.new(_HKDF_SALT, signing_secret.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


class LinkSigner:
    """Signs and verifies artifact links with one secret key."""

    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        if not isinstance(secret, bytes) or len(secret) < MIN_KEY_BYTES:
            raise ValueError(f"the link key must be at least {MIN_KEY_BYTES} bytes")
        self._secret = secret
        self._clock = clock

    def _mac(self, job_id: str, path: str, expires: int) -> str:
        message = b"\x00".join(
            (_MAC_LABEL, job_id.encode("utf-8"), path.encode("utf-8"), str(expires).encode())
        )
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def sign(self, job_id: str, artifact_path: str, expires_in_s: int) -> str:
        """`/artifacts/<job_id>/<path>?expires=<unix>&sig=<hex>`, valid for `expires_in_s`."""
        check_job_id(job_id)
        path = normalize_artifact_path(artifact_path)
        if isinstance(expires_in_s, bool) or not 0 < expires_in_s <= MAX_EXPIRES_IN_S:
            raise ValueError(f"expires_in_s must be in 1..{MAX_EXPIRES_IN_S}")
        expires = int(self._clock()) + int(expires_in_s)
        sig = self._mac(job_id, path, expires)
        return (
            f"{LINK_PREFIX}/{quote(job_id, safe='')}/{quote(path, safe='/')}"
            f"?expires={expires}&sig={sig}"
        )

    def verify(self, job_id: str, artifact_path: str, expires: int | str, sig: str) -> None:
        """Return if the link may be served now, else raise `LinkRefused`.

        Order: job id and path shape, then the signature (so a forged expiry reads as a bad
        signature), then the expiry.
        """
        try:
            check_job_id(job_id)
        except ValueError as exc:
            raise LinkRefused(BAD_JOB_ID, str(exc)) from None
        try:
            path = normalize_artifact_path(artifact_path)
        except (UnsafePath, UnicodeDecodeError) as exc:
            raise LinkRefused(UNSAFE_PATH, str(exc)) from None
        if isinstance(expires, bool):
            raise LinkRefused(BAD_EXPIRY)
        if isinstance(expires, str):
            if not _EXPIRES_RE.fullmatch(expires):
                raise LinkRefused(BAD_EXPIRY)
            expires_at = int(expires)
        elif isinstance(expires, int) and expires >= 0:
            expires_at = expires
        else:
            raise LinkRefused(BAD_EXPIRY)
        if not isinstance(sig, str) or not _SIG_RE.fullmatch(sig):
            raise LinkRefused(BAD_SIGNATURE)
        expected = self._mac(job_id, path, expires_at)
        if not hmac.compare_digest(expected.encode("ascii"), sig.encode("ascii")):
            raise LinkRefused(BAD_SIGNATURE)
        if self._clock() >= expires_at:
            raise LinkRefused(EXPIRED)


# ---- what a store answers for a link that checks out ---------------------------------------


@dataclass(frozen=True, slots=True)
class InlineContent:
    """The file's bytes, sent in the response itself (a report small enough for Lambda)."""

    name: str
    data: bytes


@dataclass(frozen=True, slots=True)
class RedirectTo:
    """A fresh, short-lived URL that downloads the file; the browser is sent there (302)."""

    url: str


Delivery = Path | InlineContent | RedirectTo


@runtime_checkable
class LinkedArtifacts(Protocol):
    """An artifact store whose links the bot's web app serves (both backends' stores)."""

    signer: LinkSigner | None

    def deliver(self, job_id: str, relative_path: str) -> Delivery:
        """How to send one file of a run; `FileNotFoundError` when there is none, `ValueError`
        for a path that leaves the run folder."""
        ...
