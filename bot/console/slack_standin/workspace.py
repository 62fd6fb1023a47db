"""The stand-in's state: one workspace, its bot, its channels and their messages, its files.

Everything is in memory, behind one lock that the Web API methods hold while they work.
"""

from __future__ import annotations

import mimetypes
import threading
import time
from collections.abc import Callable
from typing import Any

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


class Workspace:
    """One workspace with one bot, a few channels, files, ephemeral messages and views."""

    def __init__(
        self,
        *,
        root: Callable[[], str],
        bot_token: str = "xoxb-fake-bot-token",
        team_id: str = "T0FAKE",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        channels: tuple[str, ...] = ("C0GENERAL", "C0RANDOM"),
        scopes: tuple[str, ...] = DEFAULT_SCOPES,
        first_id: int = 0,
    ) -> None:
        self.root = root  # the server's base URL, which file URLs start with
        self.bot_token = bot_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.scopes = set(scopes)
        self.channels: dict[str, list[dict[str, Any]]] = {c: [] for c in channels}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self.home_views: dict[str, dict[str, Any]] = {}  # views.publish, per user
        self.files: dict[str, dict[str, Any]] = {}
        self.file_bytes: dict[str, bytes] = {}
        self.lock = threading.RLock()
        self._last_ts = 0.0
        self._seq = first_id  # ids (F..., V...) count up from here

    # ---- ids and timestamps -------------------------------------------------------------------

    def new_ts(self) -> str:
        """A message ts, unique and increasing, as Slack's are."""
        with self.lock:
            now = max(time.time(), self._last_ts + 0.000001)
            self._last_ts = now
            return f"{now:.6f}"

    def new_id(self, prefix: str) -> str:
        with self.lock:
            self._seq += 1
            return f"{prefix}0{self._seq:010d}"

    # ---- channels and messages ----------------------------------------------------------------

    def add_channel(self, channel_id: str) -> str:
        with self.lock:
            self.channels.setdefault(channel_id, [])
        return channel_id

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The parent message then its replies, oldest first (like conversations.replies)."""
        with self.lock:
            messages = self.channels.get(channel, [])
            out = [m for m in messages if m["ts"] == ts or m.get("thread_ts") == ts]
            return [dict(m) for m in sorted(out, key=lambda m: float(m["ts"]))]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Every message of a channel, replies included, oldest first."""
        with self.lock:
            return [dict(m) for m in self.channels.get(channel, [])]

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        with self.lock:
            found = self.find(channel, ts)
            if found is None:
                raise KeyError((channel, ts))
            return dict(found)

    def find(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The stored message itself (not a copy), or None."""
        for m in self.channels.get(channel, []):
            if m["ts"] == ts:
                return m
        return None

    def append_message(
        self, channel: str, fields: dict[str, Any], thread_ts: str | None
    ) -> dict[str, Any]:
        """Add a message to a channel, or to a thread there (counting the parent's replies)."""
        ts = self.new_ts()
        msg: dict[str, Any] = {"type": "message", "ts": ts, **fields}
        if thread_ts:
            parent = self.find(channel, thread_ts)
            if parent is not None and parent.get("thread_ts") not in (None, parent["ts"]):
                thread_ts = parent["thread_ts"]  # a reply to a reply joins the parent's thread
                parent = self.find(channel, thread_ts)
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

    def bot_fields(self) -> dict[str, Any]:
        """What marks a message as the bot's."""
        return {"user": self.bot_user_id, "bot_id": self.bot_id, "app_id": "A0FAKE"}

    def post_user_message(
        self, channel: str, text: str, *, user: str = "U0HUMAN", thread_ts: str | None = None
    ) -> str:
        """A person writes in a channel or thread; returns the message's ts."""
        with self.lock:
            self.add_channel(channel)
            return self.append_message(channel, {"user": user, "text": text}, thread_ts)["ts"]

    # ---- files --------------------------------------------------------------------------------

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
        """Register a file a person uploaded; if `channel`, also post its message there."""
        with self.lock:
            file_id = self.new_id("F")
            obj = self.store_file(file_id, name, title or name, content, user)
            if channel is not None:
                self.add_channel(channel)
                msg = self.append_message(
                    channel, {"user": user, "text": text, "files": [obj]}, thread_ts=None
                )
                self.record_share(obj, channel, msg["ts"], None)
                obj["message_ts"] = msg["ts"]
            return dict(obj)

    def upload_through_form(
        self, name: str, content: bytes, *, user: str = "U0HUMAN"
    ) -> dict[str, Any]:
        """A file a person attached to a modal's file input: stored, shared nowhere (Slack
        puts the file object in the submission's state, under the input's action id)."""
        with self.lock:
            return dict(self.store_file(self.new_id("F"), name, name, content, user))

    def store_file(
        self, file_id: str, name: str, title: str, content: bytes, user: str
    ) -> dict[str, Any]:
        """Keep a file's bytes and its file object (as files.info shows it); the object."""
        obj = self._file_object(file_id, name, title, len(content), user)
        self.files[file_id] = obj
        self.file_bytes[file_id] = content
        return obj

    def _file_object(
        self, file_id: str, name: str, title: str, size: int, user: str
    ) -> dict[str, Any]:
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        filetype = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
        private = f"{self.root()}/files-pri/{self.team_id}-{file_id}"
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

    def record_share(
        self, obj: dict[str, Any], channel: str, ts: str, thread_ts: str | None
    ) -> None:
        """Note in the file object that it was shared in `channel` by the message `ts`."""
        direct = channel.startswith("D")  # a direct message: listed as an im, shared privately
        listed = obj["ims"] if direct else obj["channels"]
        if channel not in listed:
            listed.append(channel)
        share: dict[str, Any] = {"ts": ts, "channel_name": channel.lower()}
        if thread_ts:
            share["thread_ts"] = thread_ts
        kind = "private" if direct else "public"
        obj["shares"].setdefault(kind, {}).setdefault(channel, []).append(share)
