"""A stand-in for Slack's Web API, served over HTTP on 127.0.0.1 for the real ``slack_sdk`` client.

`automl shell` talks to the bot through it (no Slack at all), and the tests use it as their
fake of Slack: it records every call and checks parameters the way Slack does.

    with SlackStandIn() as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.url)
        client.chat_postMessage(channel=fake.channel, text="hi")
        assert fake.calls("chat.postMessage")[0].params["text"] == "hi"

It answers the way Slack does: HTTP 200 with ``{"ok": false, "error": ...}`` for API
errors, HTTP 429 with ``Retry-After`` when a rate limit is injected, and a 200 HTML login
page when ``url_private_download`` is fetched without the bot token (or without the
``files:read`` scope). Form-encoded, JSON and query-string parameters are all accepted,
with the token in ``Authorization: Bearer`` or in a ``token`` parameter.
"""

from __future__ import annotations

import json
import mimetypes
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_VIEW = 100
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BLOCK_ID = 255
MAX_MESSAGE_TEXT = 40_000
MAX_TABLE_ROWS = 100
MAX_TABLE_CELLS = 20
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_VIEW_TITLE = 24
TRIGGER_TTL_S = 3.0

LOGIN_PAGE = (
    "<!DOCTYPE html><html lang='en-US'><head><title>Slack</title></head><body>"
    "<h1>Sign in to your workspace</h1><form action='/signin'></form></body></html>"
)

DEFAULT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "files:read",
    "files:write",
    "groups:history",
)


class SlackError(Exception):
    """An API error, answered as ``{"ok": false, "error": code, **extra}``."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


@dataclass(frozen=True)
class Call:
    """One request the fake received."""

    method: str  # "chat.postMessage", or "upload" / "download" for the file routes
    params: dict[str, Any]  # the token is left out
    time: float
    token: str | None
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))


def _blocks_error(*problems: str) -> SlackError:
    return SlackError(
        "invalid_blocks",
        errors=list(problems),
        response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
    )


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        value = obj.get("text", "")
        return value if isinstance(value, str) else ""
    return ""


def validate_blocks(blocks: Any, *, limit: int = MAX_BLOCKS_MESSAGE) -> list[dict[str, Any]]:
    """Check ``blocks`` (a list, or its JSON text) against Block Kit's limits, as Slack does."""
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError as exc:
            raise SlackError("invalid_blocks_format") from exc
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise SlackError("invalid_blocks_format")
    if len(blocks) > limit:
        raise _blocks_error(f"no more than {limit} items allowed [json-pointer:/blocks]")
    seen_ids: set[str] = set()
    tables = 0
    for i, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{i}"
        kind = block.get("type")
        if not isinstance(kind, str) or not kind:
            raise _blocks_error(f"missing required field: type {where}]")
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or len(block_id) > MAX_BLOCK_ID:
                raise _blocks_error(f"must be at most {MAX_BLOCK_ID} characters {where}/block_id]")
            if block_id in seen_ids:
                raise _blocks_error(f"duplicate block_id {where}/block_id]")
            seen_ids.add(block_id)
        if kind == "section":
            text, fields = block.get("text"), block.get("fields")
            if text is None and not fields:
                raise _blocks_error(f"must provide either text or fields {where}]")
            if text is not None and len(_text_of(text)) > MAX_SECTION_TEXT:
                raise _blocks_error(
                    f"must be less than {MAX_SECTION_TEXT + 1} characters {where}/text/text]"
                )
            if fields:
                if len(fields) > MAX_SECTION_FIELDS:
                    raise _blocks_error(f"no more than {MAX_SECTION_FIELDS} items {where}/fields]")
                for j, f in enumerate(fields):
                    if len(_text_of(f)) > MAX_FIELD_TEXT:
                        raise _blocks_error(
                            f"must be less than {MAX_FIELD_TEXT + 1} characters "
                            f"{where}/fields/{j}/text]"
                        )
        elif kind == "header":
            text = block.get("text")
            if not isinstance(text, dict) or text.get("type") != "plain_text":
                raise _blocks_error(f"must be a plain_text object {where}/text]")
            if len(_text_of(text)) > MAX_HEADER_TEXT:
                raise _blocks_error(
                    f"must be less than {MAX_HEADER_TEXT + 1} characters {where}/text/text]"
                )
        elif kind == "image":
            if not block.get("image_url") and not block.get("slack_file"):
                raise _blocks_error(f"must provide image_url or slack_file {where}]")
            if not block.get("alt_text"):
                raise _blocks_error(f"missing required field: alt_text {where}]")
        elif kind == "actions":
            elements = block.get("elements") or []
            if not elements or len(elements) > MAX_ACTIONS_ELEMENTS:
                raise _blocks_error(
                    f"must have 1 to {MAX_ACTIONS_ELEMENTS} items {where}/elements]"
                )
        elif kind == "context":
            elements = block.get("elements") or []
            if not elements or len(elements) > MAX_CONTEXT_ELEMENTS:
                raise _blocks_error(
                    f"must have 1 to {MAX_CONTEXT_ELEMENTS} items {where}/elements]"
                )
        elif kind == "table":
            tables += 1
            rows = block.get("rows")
            if not isinstance(rows, list) or not rows:
                raise _blocks_error(f"missing required field: rows {where}]")
            if len(rows) > MAX_TABLE_ROWS:
                raise _blocks_error(f"no more than {MAX_TABLE_ROWS} items allowed {where}/rows]")
            for j, row in enumerate(rows):
                if not isinstance(row, list) or len(row) > MAX_TABLE_CELLS:
                    raise _blocks_error(
                        f"no more than {MAX_TABLE_CELLS} items allowed {where}/rows/{j}]"
                    )
                for k, cell in enumerate(row):
                    if not isinstance(cell, dict) or cell.get("type") not in (
                        "raw_text",
                        "rich_text",
                    ):
                        raise _blocks_error(f"invalid cell type {where}/rows/{j}/{k}]")
    if tables > 1:
        # The table block's usage notes: one table per message.
        raise SlackError("only_one_table_allowed")
    return blocks


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
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.scopes = set(scopes)
        self.share_delay_s = share_delay_s
        self.strict_triggers = strict_triggers
        self.channels: dict[str, list[dict[str, Any]]] = {c: [] for c in channels}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.file_bytes: dict[str, bytes] = {}
        self._pending_uploads: dict[str, dict[str, Any]] = {}
        self._triggers: dict[str, float] = {}
        self._calls: list[Call] = []
        self._rate_limits: dict[str, list[int]] = {}  # method -> [remaining, retry_after]
        self._failures: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self._lock = threading.RLock()
        self._last_ts = 0.0
        self._seq = first_id  # ids (F..., V...) count up from here
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timers: list[threading.Timer] = []
        self._responses: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> SlackStandIn:
        handler = type("_Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-slack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root(self) -> str:
        if self._server is None:
            raise RuntimeError("SlackStandIn is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The ``base_url`` for ``WebClient`` (ends with a slash, like Slack's)."""
        return f"{self.root}/api/"

    @property
    def channel(self) -> str:
        """The first channel, for tests that need just one."""
        return next(iter(self.channels))

    # ------------------------------------------------------------------ test helpers
    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def add_channel(self, channel_id: str) -> str:
        with self._lock:
            self.channels.setdefault(channel_id, [])
        return channel_id

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The parent message then its replies, oldest first (like conversations.replies)."""
        with self._lock:
            messages = self.channels.get(channel, [])
            out = [m for m in messages if m["ts"] == ts or m.get("thread_ts") == ts]
            return [dict(m) for m in sorted(out, key=lambda m: float(m["ts"]))]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Every message of a channel, replies included, oldest first."""
        with self._lock:
            return [dict(m) for m in self.channels.get(channel, [])]

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        with self._lock:
            for m in self.channels.get(channel, []):
                if m["ts"] == ts:
                    return dict(m)
        raise KeyError((channel, ts))

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
        with self._lock:
            file_id = self._new_id("F")
            obj = self._file_object(file_id, name, title or name, len(content), user)
            self.files[file_id] = obj
            self.file_bytes[file_id] = content
            if channel is not None:
                self.add_channel(channel)
                msg = self._append_message(
                    channel, {"user": user, "text": text, "files": [obj]}, thread_ts=None
                )
                self._record_share(obj, channel, msg["ts"], None)
                obj["message_ts"] = msg["ts"]
            return dict(obj)

    def post_user_message(
        self, channel: str, text: str, *, user: str = "U0HUMAN", thread_ts: str | None = None
    ) -> str:
        """A person writes in a channel or thread; returns the message's ts."""
        with self._lock:
            self.add_channel(channel)
            return self._append_message(channel, {"user": user, "text": text}, thread_ts)["ts"]

    def trigger_id(self) -> str:
        """A trigger_id valid for 3 s, as Slack sends in interaction payloads."""
        trigger = f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[trigger] = time.monotonic()
        return trigger

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429 and ``Retry-After``."""
        with self._lock:
            self._rate_limits[method] = [times, retry_after]

    def fail_next(self, method: str, error: str, times: int = 1, **extra: Any) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        with self._lock:
            self._failures.setdefault(method, []).extend([(error, extra)] * times)

    def response_url(self, channel: str, user: str, thread_ts: str | None = None) -> str:
        """A response_url, as Slack puts in commands and interactions (valid 30 minutes)."""
        key = secrets.token_urlsafe(16)
        with self._lock:
            self._responses[key] = {"channel": channel, "user": user, "thread_ts": thread_ts}
        return f"{self.root}/respond/{key}"

    def uploaded(self, file_id: str) -> bytes:
        """The bytes a file was uploaded (or registered) with."""
        with self._lock:
            return self.file_bytes[file_id]

    # ------------------------------------------------------------------ internals
    def _new_ts(self) -> str:
        with self._lock:
            now = max(time.time(), self._last_ts + 0.000001)
            self._last_ts = now
            return f"{now:.6f}"

    def _new_id(self, prefix: str) -> str:
        with self._lock:
            self._seq += 1
            return f"{prefix}0{self._seq:010d}"

    def _file_object(
        self, file_id: str, name: str, title: str, size: int, user: str
    ) -> dict[str, Any]:
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        filetype = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
        private = f"{self.root}/files-pri/{self.team_id}-{file_id}"
        return {
            "id": file_id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": name,
            "title": title,
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": filetype.upper(),
            "user": user,
            "size": size,
            "mode": "hosted",
            "is_external": False,
            "is_public": False,
            "url_private": f"{private}/{name}",
            "url_private_download": f"{private}/download/{name}",
            "permalink": f"https://fake.slack.com/files/{user}/{file_id}/{name}",
            "channels": [],
            "groups": [],
            "ims": [],
            "shares": {},
        }

    def _record_share(
        self, obj: dict[str, Any], channel: str, ts: str, thread_ts: str | None
    ) -> None:
        if channel not in obj["channels"]:
            obj["channels"].append(channel)
        share: dict[str, Any] = {"ts": ts, "channel_name": channel.lower()}
        if thread_ts:
            share["thread_ts"] = thread_ts
        obj["shares"].setdefault("public", {}).setdefault(channel, []).append(share)

    def _find(self, channel: str, ts: str) -> dict[str, Any] | None:
        for m in self.channels.get(channel, []):
            if m["ts"] == ts:
                return m
        return None

    def _append_message(
        self, channel: str, fields: dict[str, Any], thread_ts: str | None
    ) -> dict[str, Any]:
        ts = self._new_ts()
        msg: dict[str, Any] = {"type": "message", "ts": ts, **fields}
        if thread_ts:
            parent = self._find(channel, thread_ts)
            if parent is not None and parent.get("thread_ts") not in (None, parent["ts"]):
                thread_ts = parent["thread_ts"]  # a reply to a reply joins the parent's thread
                parent = self._find(channel, thread_ts)
            msg["thread_ts"] = thread_ts
            if parent is not None:
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = ts
                users = parent.setdefault("reply_users", [])
                who = fields.get("user")
                if who and who not in users:
                    users.append(who)
        self.channels[channel].append(msg)
        return msg

    # ------------------------------------------------------------------ dispatch
    def _handle_api(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            limit = self._rate_limits.get(method)
            if limit and limit[0] > 0:
                limit[0] -= 1
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(limit[1])}
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            if handler is None:
                return 404, {"ok": False, "error": "unknown_method", "req_method": method}, {}
            if not token:
                return 200, {"ok": False, "error": "not_authed"}, {}
            if token != self.bot_token:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            failures = self._failures.get(method)
            if failures:
                error, extra = failures.pop(0)
                return 200, {"ok": False, "error": error, **extra}, {}
            try:
                body = handler(params)
            except SlackError as exc:
                return 200, {"ok": False, "error": exc.code, **exc.extra}, {}
            headers = {"x-oauth-scopes": ",".join(sorted(self.scopes))}
            return 200, {"ok": True, **body}, headers

    @staticmethod
    def _require(params: dict[str, Any], *names: str) -> None:
        for name in names:
            if params.get(name) in (None, ""):
                raise SlackError(
                    "invalid_arguments",
                    response_metadata={"messages": [f"[ERROR] missing required field: {name}"]},
                )

    def _channel(self, params: dict[str, Any], key: str = "channel") -> str:
        channel = params.get(key)
        if not channel or channel not in self.channels:
            raise SlackError("channel_not_found")
        return str(channel)

    def _message_content(self, params: dict[str, Any], *, required: bool) -> dict[str, Any]:
        text = params.get("text")
        blocks = params.get("blocks")
        attachments = params.get("attachments")
        if required and not text and not blocks and not attachments:
            raise SlackError("no_text")
        if text is not None and len(str(text)) > MAX_MESSAGE_TEXT:
            raise SlackError("msg_too_long")
        content: dict[str, Any] = {}
        if text is not None:
            content["text"] = str(text)
        if blocks not in (None, ""):
            content["blocks"] = validate_blocks(blocks)
        if attachments not in (None, ""):
            content["attachments"] = (
                json.loads(attachments) if isinstance(attachments, str) else attachments
            )
        if params.get("metadata"):
            metadata = params["metadata"]
            content["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
        return content

    def _bot_fields(self) -> dict[str, Any]:
        return {"user": self.bot_user_id, "bot_id": self.bot_id, "app_id": "A0FAKE"}

    # ------------------------------------------------------------------ methods
    def _m_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.com/",
            "team": "Fake Workspace",
            "user": "automl",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _m_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        content = self._message_content(params, required=True)
        thread_ts = params.get("thread_ts") or None
        if thread_ts and self._find(channel, str(thread_ts)) is None:
            raise SlackError("thread_not_found")
        msg = self._append_message(channel, {**self._bot_fields(), **content}, thread_ts)
        return {"channel": channel, "ts": msg["ts"], "message": dict(msg)}

    def _m_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        if not params.get("user"):
            raise SlackError("user_not_in_channel")
        content = self._message_content(params, required=True)
        ts = self._new_ts()
        self.ephemerals.append(
            {
                "channel": channel,
                "user": params["user"],
                "ts": ts,
                "thread_ts": params.get("thread_ts"),
                **content,
            }
        )
        return {"message_ts": ts}

    def _m_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        ts = params.get("ts")
        msg = self._find(channel, str(ts)) if ts else None
        if msg is None:
            raise SlackError("message_not_found")
        if msg.get("bot_id") != self.bot_id:
            raise SlackError("cant_update_message")
        content = self._message_content(params, required=False)
        if not content:
            raise SlackError("no_text")
        msg.update(content)
        if "blocks" not in content and params.get("text") is not None:
            msg.pop("blocks", None)
        msg["edited"] = {"user": self.bot_user_id, "ts": self._new_ts()}
        return {
            "channel": channel,
            "ts": msg["ts"],
            "text": msg.get("text", ""),
            "message": dict(msg),
        }

    def _m_conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or 1e12)
        limit = int(params.get("limit") or 100)
        top = [
            dict(m)
            for m in self.channels[channel]
            if m.get("thread_ts") in (None, m["ts"]) and oldest < float(m["ts"]) <= latest
        ]
        top.reverse()  # newest first, as Slack answers
        return {"messages": top[:limit], "has_more": len(top) > limit, "pin_count": 0}

    def _m_conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        ts = params.get("ts")
        if not ts or self._find(channel, str(ts)) is None:
            raise SlackError("thread_not_found")
        return {"messages": self.thread(channel, str(ts)), "has_more": False}

    def _m_files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        if "files:read" not in self.scopes:
            raise SlackError("missing_scope", needed="files:read", provided=",".join(self.scopes))
        obj = self.files.get(str(params.get("file") or ""))
        if obj is None:
            raise SlackError("file_not_found")
        return {"file": dict(obj), "comments": [], "response_metadata": {"next_cursor": ""}}

    def _m_files_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        raise SlackError("method_deprecated")

    def _m_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require(params, "filename", "length")
        try:
            length = int(params["length"])
        except (TypeError, ValueError) as exc:
            raise SlackError("invalid_arguments") from exc
        file_id = self._new_id("F")
        self._pending_uploads[file_id] = {
            "filename": str(params["filename"]),
            "length": length,
            "alt_txt": params.get("alt_txt"),
            "data": None,
        }
        upload_url = f"{self.root}/upload/v1/{file_id}/{secrets.token_urlsafe(12)}"
        return {"upload_url": upload_url, "file_id": file_id}

    def _m_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require(params, "files")
        files = params["files"]
        if isinstance(files, str):
            try:
                files = json.loads(files)
            except ValueError as exc:
                raise SlackError("invalid_arguments") from exc
        channel = params.get("channel_id") or None
        channels = [c for c in str(params.get("channels") or "").split(",") if c]
        targets = [channel] if channel else channels
        for c in targets:
            if c not in self.channels:
                raise SlackError("channel_not_found")
        thread_ts = params.get("thread_ts") or None
        if thread_ts:
            if len(targets) != 1:
                raise SlackError("invalid_arguments")
            if self._find(targets[0], str(thread_ts)) is None:
                raise SlackError("thread_not_found")
        objects = []
        for item in files:
            file_id = str(item.get("id", ""))
            pending = self._pending_uploads.get(file_id)
            if pending is None:
                raise SlackError("file_not_found")
            if pending["data"] is None:
                raise SlackError("file_upload_not_found")
            del self._pending_uploads[file_id]
            name = pending["filename"]
            obj = self._file_object(
                file_id, name, item.get("title") or name, len(pending["data"]), self.bot_user_id
            )
            if pending["alt_txt"]:
                obj["alt_txt"] = pending["alt_txt"]
            self.files[file_id] = obj
            self.file_bytes[file_id] = pending["data"]
            objects.append(obj)
        if targets and objects:
            comment = params.get("initial_comment") or ""

            def share() -> None:
                with self._lock:
                    for c in targets:
                        fields = {**self._bot_fields(), "text": comment, "files": objects}
                        msg = self._append_message(c, fields, thread_ts)
                        for obj in objects:
                            self._record_share(obj, c, msg["ts"], thread_ts)

            if self.share_delay_s > 0:  # Slack shares asynchronously after answering
                timer = threading.Timer(self.share_delay_s, share)
                timer.daemon = True
                self._timers.append(timer)
                timer.start()
            else:
                share()
        # The answer carries the files before their sharing shows, as Slack's does.
        return {"files": [{**o, "channels": [], "shares": {}} for o in objects]}

    def _m_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger = params.get("trigger_id")
        if not trigger:
            raise SlackError("invalid_arguments")
        issued = self._triggers.pop(str(trigger), None)
        if issued is not None and time.monotonic() - issued > TRIGGER_TTL_S:
            raise SlackError("expired_trigger_id")
        if issued is None and self.strict_triggers:
            raise SlackError("invalid_trigger_id")
        view = params.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError as exc:
                raise SlackError("invalid_arguments") from exc
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            raise SlackError("invalid_arguments")
        if view["type"] == "modal" and not 0 < len(_text_of(view.get("title"))) <= MAX_VIEW_TITLE:
            raise SlackError(
                "invalid_arguments",
                response_metadata={
                    "messages": [
                        f"[ERROR] must be at most {MAX_VIEW_TITLE} characters "
                        "[json-pointer:/view/title/text]"
                    ]
                },
            )
        validate_blocks(view.get("blocks", []), limit=MAX_BLOCKS_VIEW)
        stored = {**view, "id": self._new_id("V"), "team_id": self.team_id, "state": {"values": {}}}
        self.views.append(stored)
        return {"view": dict(stored)}

    # ------------------------------------------------------------------ file routes
    def _handle_upload(self, path: str, data: bytes) -> tuple[int, bytes, str]:
        parts = path.strip("/").split("/")  # upload/v1/<file_id>/<secret>
        with self._lock:
            pending = self._pending_uploads.get(parts[2]) if len(parts) == 4 else None
            if pending is None:
                return 404, b"Not Found", "text/plain"
            pending["data"] = data
            self._calls.append(
                Call("upload", {"file_id": parts[2], "size": len(data)}, time.time(), None)
            )
        return 200, f"OK - {len(data)}".encode(), "text/plain; charset=utf-8"

    def _handle_respond(self, path: str, data: bytes) -> tuple[int, bytes, str]:
        """A POST to a response_url: ephemeral by default, like Slack's."""
        key = path.rsplit("/", 1)[-1]
        with self._lock:
            target = self._responses.get(key)
            if target is None:
                return 404, b"expired_url", "text/plain"
            try:
                payload = json.loads(data or b"{}")
            except ValueError:
                return 400, b"invalid_payload", "text/plain"
            self._calls.append(Call("respond", dict(payload), time.time(), None))
            try:
                content = self._message_content(payload, required=True)
            except SlackError as error:
                return 400, error.code.encode(), "text/plain"
            if payload.get("response_type") == "in_channel":
                fields = {**self._bot_fields(), **content}
                self._append_message(target["channel"], fields, target["thread_ts"])
            else:
                self.ephemerals.append(
                    {
                        "channel": target["channel"],
                        "user": target["user"],
                        "ts": self._new_ts(),
                        "thread_ts": target["thread_ts"],
                        **content,
                    }
                )
        return 200, b"ok", "text/html"

    def _handle_download(self, path: str, auth: str | None) -> tuple[int, bytes, str]:
        match = re.fullmatch(r"/files-pri/([^/-]+)-([^/]+)/(?:download/)?(.+)", path)
        token = auth[7:] if auth and auth.startswith("Bearer ") else None
        with self._lock:
            self._calls.append(Call("download", {"path": path}, time.time(), token))
            if match is None or match.group(2) not in self.files:
                return 404, b"Not Found", "text/plain"
            if token != self.bot_token or "files:read" not in self.scopes:
                return 200, LOGIN_PAGE.encode(), "text/html; charset=utf-8"
            obj = self.files[match.group(2)]
            return 200, self.file_bytes[obj["id"]], obj["mimetype"]


class _Handler(BaseHTTPRequestHandler):
    fake: SlackStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self._dispatch(b"")

    def do_POST(self) -> None:
        self._dispatch(self._body())

    def _dispatch(self, body: bytes) -> None:
        split = urlsplit(self.path)
        path = unquote(split.path)
        if path.startswith("/upload/"):
            status, data, ctype = self.fake._handle_upload(path, body)
            self._send(status, data, ctype, {})
            return
        if path.startswith("/respond/"):
            status, data, ctype = self.fake._handle_respond(path, body)
            self._send(status, data, ctype, {})
            return
        if path.startswith("/files-pri/"):
            status, data, ctype = self.fake._handle_download(
                path, self.headers.get("Authorization")
            )
            self._send(status, data, ctype, {})
            return
        if not path.startswith("/api/"):
            self._send(404, b"Not Found", "text/plain", {})
            return
        method = path[len("/api/") :]
        params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(split.query).items()}
        ctype = self.headers.get("Content-Type", "")
        if body and ctype.startswith("application/json"):
            try:
                params.update(json.loads(body))
            except ValueError:
                self._json(200, {"ok": False, "error": "invalid_json"}, {})
                return
        elif body:
            params.update({k: v[-1] for k, v in parse_qs(body.decode("utf-8")).items()})
        auth = self.headers.get("Authorization")
        token = auth[7:] if auth and auth.startswith("Bearer ") else None
        token = token or params.pop("token", None)
        params.pop("token", None)
        status, response, headers = self.fake._handle_api(method, params, token)
        with self.fake._lock:
            self.fake._calls.append(Call(method, params, time.time(), token, status, response))
        self._json(status, response, headers)

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
        body = json.dumps(payload).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", headers)
