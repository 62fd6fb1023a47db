"""The Slack app manifest with the deployment's request URL in its three places."""

from __future__ import annotations

from pathlib import Path

# What infra/slack-manifest.yaml has where the request URL goes (slash command, events,
# interactivity).
PLACEHOLDER_URL = "https://YOUR-BOT-HOST/slack/events"
PLACES = 3


class ManifestProblem(Exception):
    """The template is not what this module fills in; `str()` says what to fix."""


def filled_manifest(template: str, request_url: str) -> str:
    if not request_url.startswith("https://"):
        raise ManifestProblem(f"The request URL should start with https://: {request_url!r}")
    found = template.count(PLACEHOLDER_URL)
    if found != PLACES:
        raise ManifestProblem(
            f"The manifest template has {PLACEHOLDER_URL} {found} times, not {PLACES}: "
            "put it back where the request URL goes."
        )
    return template.replace(PLACEHOLDER_URL, request_url)


def write_manifest(template_path: Path, request_url: str, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(filled_manifest(template_path.read_text(encoding="utf-8"), request_url))
    return out
