"""`SlackStandIn`: the workspace, its Web API and the HTTP server, put together.

The attributes tests read and change (`channels`, `ephemerals`, `views`, `files`, `scopes`,
the ids and the token) are the workspace's own objects: changing them changes what the API
answers.
"""

from __future__ import annotations

from typing import Any

from bot.console.slack_standin.api import Call, WebApi
from bot.console.slack_standin.methods import Methods
from bot.console.slack_standin.server import HttpServer
from bot.console.slack_standin.workspace import DEFAULT_SCOPES, Workspace


class SlackStandIn:
    """Slack's Web API for one workspace, one bot, a few channels; state kept in memory."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-fake-bot-token",
        team_id: str = "T0FAKE",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        channels: tuple[str, ...] = ("C0GENERAL", "C0RANDOM"),
        scopes: tuple[str, ...] = DEFAULT_SCOPES,
        share_delay_s: float = 0.0,
        strict_triggers: bool = False,
        first_id: int = 0,
        chat_update_per_minute: int | None = None,
    ) -> None:
        self.workspace = Workspace(
            root=lambda: self.root,
            bot_token=bot_token,
            team_id=team_id,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            channels=channels,
            scopes=scopes,
            first_id=first_id,
        )
        self.methods = Methods(
            self.workspace, share_delay_s=share_delay_s, strict_triggers=strict_triggers
        )
        self.api = WebApi(self.workspace, self.methods)
        # Slack's Tier 3 for chat.update is about 50 a minute; off unless a test asks.
        self.api.limit_per_minute("chat.update", chat_update_per_minute)
        self.server = HttpServer(self.api)

    # ---- running ------------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        self.server.start()
        return self

    def stop(self) -> None:
        self.methods.stop()
        self.server.stop()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root(self) -> str:
        return self.server.root

    @property
    def url(self) -> str:
        """The ``base_url`` for ``WebClient`` (ends with a slash, like Slack's)."""
        return f"{self.root}/api/"

    # ---- the workspace ------------------------------------------------------------------------

    @property
    def bot_token(self) -> str:
        return self.workspace.bot_token

    @property
    def team_id(self) -> str:
        return self.workspace.team_id

    @property
    def bot_user_id(self) -> str:
        return self.workspace.bot_user_id

    @property
    def bot_id(self) -> str:
        return self.workspace.bot_id

    @property
    def scopes(self) -> set[str]:
        return self.workspace.scopes

    @property
    def channels(self) -> dict[str, list[dict[str, Any]]]:
        return self.workspace.channels

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        return self.workspace.ephemerals

    @property
    def views(self) -> list[dict[str, Any]]:
        return self.workspace.views

    @property
    def home_views(self) -> dict[str, dict[str, Any]]:
        """Each person's Home tab, as views.publish last set it."""
        return self.workspace.home_views

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return self.workspace.files

    @property
    def channel(self) -> str:
        """The first channel, for tests that need just one."""
        return next(iter(self.workspace.channels))

    def add_channel(self, channel_id: str) -> str:
        return self.workspace.add_channel(channel_id)

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The parent message then its replies, oldest first (like conversations.replies)."""
        return self.workspace.thread(channel, ts)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Every message of a channel, replies included, oldest first."""
        return self.workspace.messages(channel)

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        return self.workspace.message(channel, ts)

    def add_file(
        self,
        name: str,
        content: bytes,
        *,
        channel: str | None = None,
        user: str = "U0HUMAN",
        title: str | None = None,
        text: str = "",
    ) -> dict[str, Any]:
        """Register a file a person uploaded; if ``channel``, also post its message there.

        Returns a copy of the file object (``id``, ``url_private_download``, ...); when
        shared, ``file["message_ts"]`` is the ts of the message that carries it (the
        thread the bot should answer in).
        """
        return self.workspace.add_file(
            name, content, channel=channel, user=user, title=title, text=text
        )

    def post_user_message(
        self, channel: str, text: str, *, user: str = "U0HUMAN", thread_ts: str | None = None
    ) -> str:
        """A person writes in a channel or thread; returns the message's ts."""
        return self.workspace.post_user_message(channel, text, user=user, thread_ts=thread_ts)

    def upload_through_form(
        self, name: str, content: bytes, *, user: str = "U0HUMAN"
    ) -> dict[str, Any]:
        """A file a person attached to a modal's file input (shared nowhere); pass
        `file_input_state(file)` as that input's value in the submission."""
        return self.workspace.upload_through_form(name, content, user=user)

    @staticmethod
    def file_input_state(*files: dict[str, Any]) -> dict[str, Any]:
        """A file input's value in a view submission's state, as Slack sends it."""
        return {"type": "file_input", "files": [dict(f) for f in files]}

    def uploaded(self, file_id: str) -> bytes:
        """The bytes a file was uploaded (or registered) with."""
        with self.workspace.lock:
            return self.workspace.file_bytes[file_id]

    # ---- what Slack hands out, and what tests inject and inspect ------------------------------

    def trigger_id(self) -> str:
        """A trigger_id valid for 3 s, as Slack sends in interaction payloads."""
        return self.methods.trigger_id()

    def response_url(self, channel: str, user: str, thread_ts: str | None = None) -> str:
        """A response_url, as Slack puts in commands and interactions (valid 30 minutes)."""
        return self.methods.response_url(channel, user, thread_ts)

    def calls(self, method: str | None = None) -> list[Call]:
        return self.api.calls(method)

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429 and ``Retry-After``."""
        self.api.rate_limit(method, times, retry_after)

    def limit_per_minute(self, method: str, calls: int | None) -> None:
        """Let at most ``calls`` calls of ``method`` through in any 60 s (None: no limit)."""
        self.api.limit_per_minute(method, calls)

    def fail_next(self, method: str, error: str, times: int = 1, **extra: Any) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        self.api.fail_next(method, error, times, **extra)

    def server_error(self, method: str, times: int = 1, status: int = 500) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP ``status`` (500 or 503),
        doing nothing, as Slack does when it fails on its side."""
        self.api.server_error(method, times, status)
