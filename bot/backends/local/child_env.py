"""The environment of every process the local backend starts (preview, training job, warm
worker, and through them the report child): the bot's, without its secrets.

A job reads files people shared; if one ever gets code to run, it must find no Slack token,
signing secret, bot key or cloud credential to steal. Locally no job needs AWS either.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# A name holding one of these words is taken for a secret, whatever it belongs to.
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "KEY", "AUTH")
SECRET_PREFIXES = ("SLACK_", "AWS_")


def is_secret(name: str) -> bool:
    upper = name.upper()
    return upper.startswith(SECRET_PREFIXES) or any(word in upper for word in SECRET_WORDS)


def child_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`environ` (the bot's own by default) without the names `is_secret` refuses."""
    source = os.environ if environ is None else environ
    return {name: value for name, value in source.items() if not is_secret(name)}
