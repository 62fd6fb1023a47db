"""`app_uninstalled` and `tokens_revoked` (for the bot's own token): the workspace's jobs are
stopped and its data deleted (bot/workspace_removal.py). Nothing is posted: the token is dead.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.listeners.replies import ack_only
from bot.listeners.typed_commands import bot_user_id
from bot.service import JobService
from bot.workspace_removal import remove_workspace


def _team_id(body: dict[str, Any]) -> str | None:
    team = body.get("team_id") or next(
        (a.get("team_id") for a in body.get("authorizations") or [] if a.get("team_id")), None
    )
    return str(team) if team else None


def bot_token_revoked(body: dict[str, Any]) -> bool:
    """`tokens_revoked` lists the revoked tokens' users; ours is the bot's one."""
    revoked = ((body.get("event") or {}).get("tokens") or {}).get("bot") or []
    ours = bot_user_id(body)
    return bool(revoked) and (ours is None or ours in revoked)


def make_removal_listener(service: JobService, why: str) -> Any:
    def on_removal(body: dict[str, Any]) -> None:
        team_id = _team_id(body)
        if not team_id:
            return
        if why == "tokens revoked" and not bot_token_revoked(body):
            return  # a person's token (we hold none): the bot still works
        remove_workspace(
            team_id,
            jobs=service.backend.jobs,
            lifecycle=service.lifecycle,
            launcher=service.backend.launcher,
            artifacts=service.backend.artifacts,
            why=why,
        )

    return on_removal


def register(app: App, service: JobService) -> None:
    app.event("app_uninstalled")(
        ack=ack_only, lazy=[make_removal_listener(service, "app uninstalled")]
    )
    app.event("tokens_revoked")(
        ack=ack_only, lazy=[make_removal_listener(service, "tokens revoked")]
    )
