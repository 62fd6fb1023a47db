"""Find the table file a person means on Slack, and stream its bytes down.

- `file_info`: one file by id (a `file_shared` event, a message shortcut), with the message
  that carries it in a channel: that message's thread is where the bot answers.
- `newest_table_file`: the newest table file in a channel's recent messages, optionally by
  name (`/automl train file=sales`). Slash commands do not run inside threads, so this looks
  at the channel's own messages only, not at files shared in threads.
- `download`: streams `url_private_download` with the bot token, in chunks, never holding the
  whole file; refuses files over the size limit, and recognises the HTML login page Slack
  answers with (status 200) when the token lacks the `files:read` scope. The token goes only
  to Slack (`is_slack_url`): a link or a redirect elsewhere is refused before it is followed.

Every problem raises a `bot.errors.UserFacingError` (`FileFetchError`, `FileTooLarge`) with a
sentence and a hint for the person, worded in `bot.messages.files`. Standard library, slack_sdk
and `bot.messages` only: on the Lambda's path.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote, urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import FileFetchError, FileTooLarge
from bot.messages import files as says

# File name endings the bot treats as tables. `xls` and `ods` are here although training
# cannot read them: the preview then explains how to convert them, which beats silence.
# A zip is offered too: the job reads one that holds a single table, and says so otherwise.
TABLE_EXTENSIONS = ("csv", "tsv", "tab", "xlsx", "xlsm", "xls", "ods", "parquet", "pq", "zip")
# Slack's own `filetype` values for the same formats (Parquet is just "binary" to Slack).
TABLE_FILETYPES = ("csv", "tsv", "xlsx", "xlsm", "xls", "ods")
# Files whose bytes Slack does not hold: links to Google Sheets and the like, deleted files,
# and files hidden by a free workspace's history limit.
_NOT_DOWNLOADABLE_MODES = ("external", "tombstone", "hidden_by_limit")

HISTORY_PAGE = 200  # conversations.history's recommended page size

# Where Slack serves files from, with their subdomains (files.slack.com, its CDN, GovSlack).
# Only these, over https, and the origin of the configured API URL (the stand-in) get the token.
SLACK_FILE_DOMAINS = ("slack.com", "slack-edge.com", "slack-files.com", "slack-gov.com")


@dataclass(frozen=True, slots=True)
class SlackFile:
    """A file as the bot needs it. `message_ts` is the message carrying the file in `channel`
    (None when Slack does not show the share yet); `thread_ts` is set when that message is a
    reply inside a thread."""

    id: str
    name: str
    title: str
    size: int
    filetype: str
    mimetype: str
    url_private_download: str
    user: str
    channel: str | None
    message_ts: str | None
    thread_ts: str | None = None

    @property
    def reply_ts(self) -> str | None:
        """The `thread_ts` to answer in: the file's thread, or the message that carries it."""
        return self.thread_ts or self.message_ts

    @classmethod
    def from_object(
        cls,
        obj: Mapping[str, Any],
        *,
        channel: str | None,
        message_ts: str | None,
        thread_ts: str | None = None,
    ) -> SlackFile:
        """From a Slack file object (files.info, or a message's `files` list)."""
        name = str(obj.get("name") or obj.get("title") or obj.get("id") or "file")
        return cls(
            id=str(obj.get("id") or ""),
            name=name,
            title=str(obj.get("title") or name),
            size=int(obj.get("size") or 0),
            filetype=str(obj.get("filetype") or ""),
            mimetype=str(obj.get("mimetype") or ""),
            url_private_download=str(obj.get("url_private_download") or ""),
            user=str(obj.get("user") or ""),
            channel=channel,
            message_ts=message_ts,
            # A thread's parent carries thread_ts == ts: it is not inside a thread.
            thread_ts=thread_ts if thread_ts and thread_ts != message_ts else None,
        )


def is_table_file(file: Mapping[str, Any]) -> bool:
    """A file object the bot can fetch and might read as a table (by type or name ending)."""
    if file.get("is_external") or file.get("mode") in _NOT_DOWNLOADABLE_MODES:
        return False
    if str(file.get("filetype") or "").lower() in TABLE_FILETYPES:
        return True
    parts = str(file.get("name") or "").lower().split(".")[1:]
    if parts and parts[-1] == "gz":  # "sales.csv.gz": a compressed table; "logs.gz" is not
        parts = parts[:-1]
    return bool(parts) and parts[-1] in TABLE_EXTENSIONS


# ---- finding the file --------------------------------------------------------------------


def file_info(client: WebClient, file_id: str, channel: str | None) -> SlackFile:
    """One file by id, with the message that shared it in `channel` (else its first share)."""
    try:
        response = client.files_info(file=file_id)
    except SlackApiError as error:
        raise _api_error(error, "look up the file") from error
    except OSError as error:
        raise _network_error("look up the file") from error
    obj = response.get("file") or {}
    where, message_ts, thread_ts = _share(obj, channel)
    return SlackFile.from_object(obj, channel=where, message_ts=message_ts, thread_ts=thread_ts)


def _share(
    obj: Mapping[str, Any], channel: str | None
) -> tuple[str | None, str | None, str | None]:
    """(channel, message ts, thread ts) of the file's share in `channel`, or its first one.

    Right after an upload Slack may not list the share yet: then only the channel is known.
    """
    shares = obj.get("shares") or {}
    for kind in ("public", "private"):
        per_channel = shares.get(kind) or {}
        for where, entries in per_channel.items():
            if entries and (channel is None or where == channel):
                first = entries[0]
                return where, first.get("ts"), first.get("thread_ts")
    return channel, None, None


def newest_table_file(
    client: WebClient, channel: str, name: str | None = None, *, limit: int = 200
) -> SlackFile:
    """The newest table file among the channel's last `limit` messages, or the one named so.

    `name` is matched case-insensitively against the file name, its name without the ending,
    and its title: an exact match first (the newest, if several), then a prefix or a part of
    the name that only one file name has.
    """
    files, scanned = _recent_table_files(client, channel, limit)
    if not files:
        raise FileFetchError(*says.no_table_file(scanned), code="no_table_file")
    if name is None or not name.strip():
        return files[0]

    wanted = _fold(name)
    exact = [f for f in files if wanted in (_fold(f.name), _fold(_stem(f.name)), _fold(f.title))]
    if exact:
        return exact[0]
    for matches in (
        lambda f: _fold(f.name).startswith(wanted) or _fold(f.title).startswith(wanted),
        lambda f: wanted in _fold(f.name) or wanted in _fold(f.title),
    ):
        found = [f for f in files if matches(f)]
        names = _distinct_names(found)
        if len(names) == 1:
            return found[0]
        if len(names) > 1:
            raise FileFetchError(*says.ambiguous_file_name(name, names), code="ambiguous_file_name")
    raise FileFetchError(
        *says.no_file_named(name, scanned, _distinct_names(files)), code="file_not_found"
    )


def _recent_table_files(client: WebClient, channel: str, limit: int) -> tuple[list[SlackFile], int]:
    """Table files of the newest `limit` messages, newest first, and how many were looked at."""
    files: list[SlackFile] = []
    scanned = 0
    cursor: str | None = None
    while scanned < limit:
        try:
            page = client.conversations_history(
                channel=channel, limit=min(HISTORY_PAGE, limit - scanned), cursor=cursor
            )
        except SlackApiError as error:
            raise _api_error(error, "read this channel's messages") from error
        except OSError as error:
            raise _network_error("read this channel's messages") from error
        messages = page.get("messages") or []
        for message in messages:
            for obj in message.get("files") or []:
                if is_table_file(obj):
                    files.append(
                        SlackFile.from_object(
                            obj,
                            channel=channel,
                            message_ts=message.get("ts"),
                            thread_ts=message.get("thread_ts"),
                        )
                    )
        scanned += len(messages)
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not messages or not page.get("has_more") or not cursor:
            break
    return files, scanned


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else name


def _distinct_names(files: list[SlackFile]) -> list[str]:
    return list(dict.fromkeys(f.name for f in files))


# ---- Slack API errors --------------------------------------------------------------------


def _api_error(error: SlackApiError, action: str) -> FileFetchError:
    """A sentence and a hint for the Slack API errors a person (or an admin) can fix."""
    response = error.response
    code = str(response.get("error") or "unknown_error")
    if code == "missing_scope":
        scope = str(response.get("needed") or "files:read")
        return FileFetchError(*says.missing_permission(action, scope), code="missing_scope")
    if code in ("file_not_found", "file_deleted"):
        return FileFetchError(*says.FILE_GONE, code=code)
    if code == "not_in_channel":
        return FileFetchError(*says.not_in_channel(action), code=code)
    if code == "channel_not_found":
        return FileFetchError(*says.channel_not_visible(action), code=code)
    if code == "ratelimited":
        return FileFetchError(*says.asked_to_slow_down(action), code=code)
    if code in ("invalid_auth", "not_authed", "token_revoked", "account_inactive"):
        return FileFetchError(*says.token_refused(action, code), code=code)
    return FileFetchError(*says.api_error(action, code), code=code)


def _network_error(action: str) -> FileFetchError:
    return FileFetchError(*says.connection_failed(action), code="network_error")


# ---- downloading -------------------------------------------------------------------------


def is_slack_url(url: str, slack_api_url: str) -> bool:
    """Whether `url` is Slack's: https on a Slack file domain, or the configured API's origin."""
    try:
        parts, api = urlsplit(url), urlsplit(slack_api_url)
        port, api_port = parts.port, api.port
    except ValueError:  # a port that is not a number
        return False
    if parts.username is not None or parts.password is not None:  # https://slack.com@evil/
        return False
    host = (parts.hostname or "").rstrip(".")
    if host and (parts.scheme, host, port) == (api.scheme, api.hostname, api_port):
        return True
    on_slack = any(host == d or host.endswith("." + d) for d in SLACK_FILE_DOMAINS)
    return parts.scheme == "https" and port in (None, 443) and on_slack


def download(
    file: SlackFile,
    token: str,
    max_bytes: int,
    *,
    slack_api_url: str,
    chunk_size: int = 1 << 16,
    timeout_s: float = 30,
) -> Iterator[bytes]:
    """Stream the file's bytes from Slack with the bot token, chunk by chunk.

    A size Slack reports above `max_bytes` is refused at once; otherwise the request is made
    when the first chunk is asked for, and the stream stops with `FileTooLarge` as soon as
    more than `max_bytes` have arrived (the caller discards what it got). The token is sent
    only to Slack (`is_slack_url`, with `slack_api_url` the client's base URL), redirects too.
    """
    if file.size > max_bytes:
        raise _too_large(file.name, max_bytes, file.size)
    url = file.url_private_download
    if urlsplit(url).scheme not in ("https", "http"):  # never let urllib open file:// and kin
        raise FileFetchError(*says.no_download_link(file.name), code="no_download_url")
    if not is_slack_url(url, slack_api_url):
        raise _not_slack(file.name, url)
    opener = urllib.request.build_opener(_SlackOnlyRedirects(file.name, slack_api_url))
    return _stream(file, url, token, max_bytes, opener, chunk_size=chunk_size, timeout_s=timeout_s)


class _SlackOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect (with the token) only to Slack; refuses any other in words."""

    def __init__(self, name: str, slack_api_url: str) -> None:
        self._name = name
        self._api = slack_api_url

    def redirect_request(  # noqa: PLR0917  (urllib's signature)
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if not is_slack_url(newurl, self._api):
            fp.close()
            raise _not_slack(self._name, newurl, redirected=True)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _not_slack(name: str, url: str, *, redirected: bool = False) -> FileFetchError:
    host = urlsplit(url).netloc.rpartition("@")[2] or url
    return FileFetchError(*says.not_slack_link(name, host, redirected), code="not_a_slack_link")


def _stream(
    file: SlackFile,
    url: str,
    token: str,
    max_bytes: int,
    opener: urllib.request.OpenerDirector,
    *,
    chunk_size: int,
    timeout_s: float,
) -> Iterator[bytes]:
    # Quote what a URL may not hold raw (spaces, non-ASCII), leaving escapes as they are.
    safe_url = quote(url, safe=":/?#[]@!$&'()*+,;=%~")
    request = urllib.request.Request(safe_url, headers={"Authorization": f"Bearer {token}"})
    received = 0
    try:
        with opener.open(request, timeout=timeout_s) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise _too_large(file.name, max_bytes, int(length))
            content_type = str(response.headers.get("Content-Type") or "").lower()
            first = True
            while chunk := response.read(chunk_size):
                if first and _is_login_page(chunk, content_type):
                    raise _login_page(file.name)
                first = False
                received += len(chunk)
                if received > max_bytes:
                    raise _too_large(file.name, max_bytes, None)
                yield chunk
    except urllib.error.HTTPError as error:
        raise _http_error(file.name, error.code) from None
    except (OSError, http.client.HTTPException) as error:  # URLError, timeouts, cut streams
        raise FileFetchError(
            *says.download_connection_failed(file.name, type(error).__name__),
            code="network_error",
        ) from error


def _is_login_page(chunk: bytes, content_type: str) -> bool:
    start = chunk[:1024].lstrip().lower()
    looks_html = start.startswith((b"<!doctype html", b"<html"))
    return looks_html or content_type.startswith("text/html")


def _login_page(name: str) -> FileFetchError:
    return FileFetchError(*says.sign_in_page(name), code="missing_scope")


def _http_error(name: str, status: int) -> FileFetchError:
    if status in (404, 410):
        return FileFetchError(*says.deleted(name), code="file_deleted")
    if status in (401, 403):
        return FileFetchError(*says.download_refused(name, status), code="download_forbidden")
    if status == 429:
        return FileFetchError(*says.download_slowed_down(name), code="ratelimited")
    return FileFetchError(*says.download_failed(name, status), code="download_failed")


def _too_large(name: str, max_bytes: int, size: int | None) -> FileTooLarge:
    return FileTooLarge(*says.too_large(name, max_bytes, size))
