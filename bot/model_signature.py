"""Models are code: a model file is unpickled only when this installation signed its SHA-256.

The job writes its model's SHA-256 into result.json (it never sees a key). Whoever started
the job signs `job_id + sha256` into model.sig beside it: the bot with a key derived from the
Slack signing secret (on AWS the completion Lambda, when the job succeeds), `automl train`
with a local key file. `automl predict` checks the signature, then the file's SHA-256, before
anything is unpickled; a model read from S3 is checked with `check_model_bytes`.

Standard library only: the bot's Lambda and the CLI both import it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Final

from bot.links import derive_key

KEY_BYTES: Final = 32
_MAC_LABEL: Final = b"automl-bot model signature v1"
_KEY_INFO: Final = b"automl-bot/model-key/v1"
_SHA256_HEX: Final = frozenset("0123456789abcdef")

NOT_SIGNED: Final = (
    "this model was not signed by this installation ({why}). Models are code: loading one "
    "runs whatever its maker put in it, so only load models from runs you trust. "
    "To load this one anyway, add --trust-unsigned."
)


class ModelNotTrusted(Exception):
    """A model without a valid signature of this installation; str() is the sentence."""


def derive_model_key(signing_secret: str) -> bytes:
    """The bot's model key: HKDF of the Slack signing secret, apart from the link key."""
    return derive_key(signing_secret, _KEY_INFO)


def local_key_path() -> Path:
    """`$XDG_CONFIG_HOME/automl/model.key` (default `~/.config/automl/model.key`)."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "automl" / "model.key"


def local_key(*, create: bool = False) -> bytes | None:
    """This user's model key (0600), made on first use when `create`; None when there is none."""
    path = local_key_path()
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = b""
    if len(key) >= KEY_BYTES or not create:
        return key if len(key) >= KEY_BYTES else None
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first (or an empty one is in the way)
        return local_key(create=False)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key


def installation_keys() -> list[bytes]:
    """The keys `automl predict` accepts: the local key file's, and the bot's when
    SLACK_SIGNING_SECRET is set (models trained through Slack)."""
    keys = [key for key in (local_key(),) if key]
    secret = os.environ.get("SLACK_SIGNING_SECRET")
    if secret:
        keys.append(derive_model_key(secret))
    return keys


def _mac(key: bytes, job_id: str, sha256: str) -> str:
    message = b"\x00".join((_MAC_LABEL, job_id.encode("utf-8"), sha256.encode("ascii")))
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _SHA256_HEX


def signature(job_id: str, sha256: str, key: bytes) -> bytes:
    """The content of model.sig for the model of `job_id` whose SHA-256 is `sha256`."""
    if not _is_sha256(sha256):
        raise ValueError(f"not a SHA-256 in hex: {sha256!r}")
    record = {"job_id": job_id, "sha256": sha256, "hmac": _mac(key, job_id, sha256)}
    return json.dumps(record).encode("utf-8")


def signed_sha256(record: bytes | None, keys: list[bytes]) -> str:
    """The SHA-256 that model.sig (`record`) vouches for, or `ModelNotTrusted`."""
    if record is None:
        raise ModelNotTrusted(NOT_SIGNED.format(why="its run folder has no model.sig"))
    if not keys:
        raise ModelNotTrusted(NOT_SIGNED.format(why="this installation has no model key yet"))
    try:
        fields = json.loads(record)
        job_id, sha256, mac = fields["job_id"], fields["sha256"], fields["hmac"]
    except (ValueError, TypeError, KeyError):
        raise ModelNotTrusted(NOT_SIGNED.format(why="its model.sig is unreadable")) from None
    if isinstance(job_id, str) and _is_sha256(sha256) and isinstance(mac, str):
        for key in keys:
            if hmac.compare_digest(_mac(key, job_id, sha256), mac):
                return str(sha256)
    raise ModelNotTrusted(NOT_SIGNED.format(why="its model.sig was made with another key"))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_model_bytes(job_id: str, model: bytes, record: bytes | None, keys: list[bytes]) -> None:
    """Return if `model` is the model of `job_id` this installation signed (model.sig is
    `record`), else raise `ModelNotTrusted`: for a model read whole, e.g. from S3."""
    sha256 = signed_sha256(record, keys)
    assert record is not None  # signed_sha256 refused a missing record
    if json.loads(record).get("job_id") != job_id:
        raise ModelNotTrusted(NOT_SIGNED.format(why="its model.sig is another job's"))
    if not hmac.compare_digest(hashlib.sha256(model).hexdigest(), sha256):
        raise ModelNotTrusted(NOT_SIGNED.format(why="the model changed after it was signed"))
