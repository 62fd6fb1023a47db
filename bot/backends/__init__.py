"""Implementations of the bot's ports, one package per backend, chosen by AUTOML_BACKEND."""

from __future__ import annotations

from bot.ports import Backend
from bot.settings import Settings


def load_backend(settings: Settings, *, link_key: bytes) -> Backend:
    """The configured backend; `link_key` signs artifact links where the bot serves them."""
    if settings.backend == "local":
        from bot.backends.local import build_local_backend

        return build_local_backend(settings, link_key=link_key)
    if settings.backend == "aws":
        from bot.backends.aws import build_aws_backend

        return build_aws_backend(settings, link_key=link_key)
    raise NotImplementedError(f"AUTOML_BACKEND={settings.backend} is not available yet")
