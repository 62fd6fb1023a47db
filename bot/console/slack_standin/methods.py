"""The Web API methods the bot uses, and the URLs they hand out, as Slack answers them.

Thirteen methods (`Methods.by_name`), each taking the request's parameters and returning the
answer's fields or raising `SlackError`; and three URLs that are not methods: the upload
URL `files.getUploadURLExternal` hands out, the `response_url` of commands and
interactions, and a file's `url_private_download`. The caller (`api.WebApi`) holds the
workspace's lock around each.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.console.slack_standin.validation import (
    SlackError,
    message_content,
    require,
    validate_view,
)
from bot.console.slack_standin.workspace import Workspace

TRIGGER_TTL_S = 3.0

LOGIN_PAGE = (
    "<!DOCTYPE html><html lang='en-US'><head><title>Slack</title></head><body>"
    "<h1>Sign in to your workspace</h1><form action='/signin'></form></body></html>"
)

Method = Callable[[dict[str, Any]], dict[str, Any]]
Answer = tuple[int, bytes, str]  # HTTP status, body, content type


class Methods:
    """The API methods over one workspace, with what they remember between calls."""

    def __init__(
        self, workspace: Workspace, *, share_delay_s: float = 0.0, strict_triggers: bool = False
    ) -> None:
        self.workspace = workspace
        self.share_delay_s = share_delay_s  # files.completeUploadExternal shares this late
        self.strict_triggers = strict_triggers  # views.open refuses trigger ids it never issued
        self._pending_uploads: dict[str, dict[str, Any]] = {}
        self._triggers: dict[str, float] = {}
        self._responses: dict[str, dict[str, Any]] = {}
        self._timers: list[threading.Timer] = []

    def by_name(self) -> dict[str, Method]:
        return {
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.update": self.chat_update,
            "conversations.history": self.conversations_history,
            "conversations.replies": self.conversations_replies,
            "files.info": self.files_info,
            "files.upload": self.files_upload,
            "files.getUploadURLExternal": self.files_get_upload_url_external,
            "files.completeUploadExternal": self.files_complete_upload_external,
            "views.open": self.views_open,
            "views.publish": self.views_publish,
            "chat.getPermalink": self.chat_get_permalink,
        }

    def stop(self) -> None:
        """Forget the shares still waiting to happen."""
        for timer in self._timers:
            timer.cancel()

    # ---- what Slack hands out in payloads -----------------------------------------------------

    def trigger_id(self) -> str:
        """A trigger_id valid for 3 s, as Slack sends in interaction payloads."""
        trigger = f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        with self.workspace.lock:
            self._triggers[trigger] = time.monotonic()
        return trigger

    def response_url(self, channel: str, user: str, thread_ts: str | None = None) -> str:
        """A response_url, as Slack puts in commands and interactions (valid 30 minutes)."""
        key = secrets.token_urlsafe(16)
        with self.workspace.lock:
            self._responses[key] = {"channel": channel, "user": user, "thread_ts": thread_ts}
        return f"{self.workspace.root()}/respond/{key}"

    # ---- auth and chat ------------------------------------------------------------------------

    def auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        ws = self.workspace
        return {
            "url": "https://fake.slack.com/",
            "team": "Fake Workspace",
            "user": "automl",
            "team_id": ws.team_id,
            "user_id": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "is_enterprise_install": False,
        }

    def chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        ws = self.workspace
        channel = self._channel(params)
        content = message_content(params, required=True)
        thread_ts = params.get("thread_ts") or None
        if thread_ts and ws.find(channel, str(thread_ts)) is None:
            raise SlackError("thread_not_found")
        fields = {**ws.bot_fields(), **content}
        # "Also send to channel": a thread reply shown in the channel too; without a thread
        # Slack ignores the flag.
        if thread_ts and str(params.get("reply_broadcast", "")).lower() in ("true", "1"):
            fields["subtype"] = "thread_broadcast"
        msg = ws.append_message(channel, fields, thread_ts)
        return {"channel": channel, "ts": msg["ts"], "message": dict(msg)}

    def chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        if not params.get("user"):
            raise SlackError("user_not_in_channel")
        content = message_content(params, required=True)
        ts = self.workspace.new_ts()
        self.workspace.ephemerals.append(
            {
                "channel": channel,
                "user": params["user"],
                "ts": ts,
                "thread_ts": params.get("thread_ts"),
                **content,
            }
        )
        return {"message_ts": ts}

    def chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        ws = self.workspace
        channel = self._channel(params)
        ts = params.get("ts")
        msg = ws.find(channel, str(ts)) if ts else None
        if msg is None:
            raise SlackError("message_not_found")
        if msg.get("bot_id") != ws.bot_id:
            raise SlackError("cant_update_message")
        content = message_content(params, required=False)
        if not content:
            raise SlackError("no_text")
        msg.update(content)
        if "blocks" not in content and params.get("text") is not None:
            msg.pop("blocks", None)
        msg["edited"] = {"user": ws.bot_user_id, "ts": ws.new_ts()}
        return {
            "channel": channel,
            "ts": msg["ts"],
            "text": msg.get("text", ""),
            "message": dict(msg),
        }

    def conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or 1e12)
        limit = int(params.get("limit") or 100)
        top = [
            dict(m)
            for m in self.workspace.channels[channel]
            if (m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast")
            and oldest < float(m["ts"]) <= latest
        ]
        top.reverse()  # newest first, as Slack answers
        return {"messages": top[:limit], "has_more": len(top) > limit, "pin_count": 0}

    def conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        ts = params.get("ts")
        if not ts or self.workspace.find(channel, str(ts)) is None:
            raise SlackError("thread_not_found")
        return {"messages": self.workspace.thread(channel, str(ts)), "has_more": False}

    # ---- files --------------------------------------------------------------------------------

    def files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        scopes = self.workspace.scopes
        if "files:read" not in scopes:
            raise SlackError("missing_scope", needed="files:read", provided=",".join(scopes))
        obj = self.workspace.files.get(str(params.get("file") or ""))
        if obj is None:
            raise SlackError("file_not_found")
        return {"file": dict(obj), "comments": [], "response_metadata": {"next_cursor": ""}}

    def files_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        raise SlackError("method_deprecated")

    def files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        require(params, "filename", "length")
        try:
            length = int(params["length"])
        except (TypeError, ValueError) as exc:
            raise SlackError("invalid_arguments") from exc
        file_id = self.workspace.new_id("F")
        self._pending_uploads[file_id] = {
            "filename": str(params["filename"]),
            "length": length,
            "alt_txt": params.get("alt_txt"),
            "data": None,
        }
        upload_url = f"{self.workspace.root()}/upload/v1/{file_id}/{secrets.token_urlsafe(12)}"
        return {"upload_url": upload_url, "file_id": file_id}

    def files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        require(params, "files")
        files = params["files"]
        if isinstance(files, str):
            try:
                files = json.loads(files)
            except ValueError as exc:
                raise SlackError("invalid_arguments") from exc
        targets = self._share_targets(params)
        thread_ts = params.get("thread_ts") or None
        objects = [self._complete_upload(item) for item in files]
        if targets and objects:
            self._share_later(objects, targets, thread_ts, params.get("initial_comment") or "")
        # The answer carries the files before their sharing shows, as Slack's does.
        return {"files": [{**o, "channels": [], "shares": {}} for o in objects]}

    def _share_targets(self, params: dict[str, Any]) -> list[str]:
        """The channels an upload is shared in, checked (and its thread, if any)."""
        channel = params.get("channel_id") or None
        channels = [c for c in str(params.get("channels") or "").split(",") if c]
        targets = [channel] if channel else channels
        for c in targets:
            if c not in self.workspace.channels:
                raise SlackError("channel_not_found")
        thread_ts = params.get("thread_ts") or None
        if thread_ts:
            if len(targets) != 1:
                raise SlackError("invalid_arguments")
            if self.workspace.find(targets[0], str(thread_ts)) is None:
                raise SlackError("thread_not_found")
        return targets

    def _complete_upload(self, item: dict[str, Any]) -> dict[str, Any]:
        """A file whose bytes were uploaded becomes a file of the workspace."""
        file_id = str(item.get("id", ""))
        pending = self._pending_uploads.get(file_id)
        if pending is None:
            raise SlackError("file_not_found")
        if pending["data"] is None:
            raise SlackError("file_upload_not_found")
        del self._pending_uploads[file_id]
        name = pending["filename"]
        ws = self.workspace
        obj = ws.store_file(
            file_id, name, item.get("title") or name, pending["data"], ws.bot_user_id
        )
        if pending["alt_txt"]:
            obj["alt_txt"] = pending["alt_txt"]
        return obj

    def _share_later(
        self,
        objects: list[dict[str, Any]],
        targets: list[str],
        thread_ts: str | None,
        comment: str,
    ) -> None:
        """Post the files' message in each target: after `share_delay_s`, as Slack does."""
        ws = self.workspace

        def share() -> None:
            with ws.lock:
                for c in targets:
                    fields = {**ws.bot_fields(), "text": comment, "files": objects}
                    msg = ws.append_message(c, fields, thread_ts)
                    for obj in objects:
                        ws.record_share(obj, c, msg["ts"], thread_ts)

        if self.share_delay_s > 0:  # Slack shares asynchronously after answering
            timer = threading.Timer(self.share_delay_s, share)
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
        else:
            share()

    # ---- views --------------------------------------------------------------------------------

    def views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger = params.get("trigger_id")
        if not trigger:
            raise SlackError("invalid_arguments")
        issued = self._triggers.pop(str(trigger), None)
        if issued is not None and time.monotonic() - issued > TRIGGER_TTL_S:
            raise SlackError("expired_trigger_id")
        if issued is None and self.strict_triggers:
            raise SlackError("invalid_trigger_id")
        view = validate_view(params.get("view"))
        ws = self.workspace
        stored = {**view, "id": ws.new_id("V"), "team_id": ws.team_id, "state": {"values": {}}}
        ws.views.append(stored)
        return {"view": dict(stored)}

    def views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        """A person's Home tab: published views replace the one before."""
        user = params.get("user_id")
        if not user:
            raise SlackError("invalid_arguments")
        view = validate_view(params.get("view"), surface="home")
        ws = self.workspace
        stored = {**view, "id": ws.new_id("V"), "team_id": ws.team_id, "state": {"values": {}}}
        ws.home_views[str(user)] = stored
        return {"view": dict(stored)}

    def chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        ts = str(params.get("message_ts") or "")
        if self.workspace.find(channel, ts) is None:
            raise SlackError("message_not_found")
        link = f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": link}

    # ---- the URLs that are not methods --------------------------------------------------------

    def upload(self, path: str, data: bytes) -> Answer:
        """A POST to an upload URL: the bytes of a file `files.completeUploadExternal` names."""
        parts = path.strip("/").split("/")  # upload/v1/<file_id>/<secret>
        pending = self._pending_uploads.get(parts[2]) if len(parts) == 4 else None
        if pending is None:
            return 404, b"Not Found", "text/plain"
        pending["data"] = data
        return 200, f"OK - {len(data)}".encode(), "text/plain; charset=utf-8"

    def response_target(self, path: str) -> dict[str, Any] | None:
        """Where the answers to a response_url go; None for a URL never handed out."""
        return self._responses.get(path.rsplit("/", 1)[-1])

    def respond(self, target: dict[str, Any], payload: dict[str, Any]) -> Answer:
        """A POST to a response_url: ephemeral by default, like Slack's."""
        try:
            content = message_content(payload, required=True)
        except SlackError as error:
            return 400, error.code.encode(), "text/plain"
        ws = self.workspace
        if payload.get("response_type") == "in_channel":
            ws.append_message(
                target["channel"], {**ws.bot_fields(), **content}, target["thread_ts"]
            )
        else:
            ws.ephemerals.append(
                {
                    "channel": target["channel"],
                    "user": target["user"],
                    "ts": ws.new_ts(),
                    "thread_ts": target["thread_ts"],
                    **content,
                }
            )
        return 200, b"ok", "text/html"

    def download(self, path: str, token: str | None) -> Answer:
        """A GET of a file's url_private(_download): the login page without the bot token."""
        ws = self.workspace
        match = re.fullmatch(r"/files-pri/([^/-]+)-([^/]+)/(?:download/)?(.+)", path)
        if match is None or match.group(2) not in ws.files:
            return 404, b"Not Found", "text/plain"
        if token != ws.bot_token or "files:read" not in ws.scopes:
            return 200, LOGIN_PAGE.encode(), "text/html; charset=utf-8"
        obj = ws.files[match.group(2)]
        return 200, ws.file_bytes[obj["id"]], obj["mimetype"]

    def _channel(self, params: dict[str, Any]) -> str:
        channel = params.get("channel")
        if not channel or channel not in self.workspace.channels:
            raise SlackError("channel_not_found")
        return str(channel)
