"""`bot.slack_files` against the Slack fake, through the real slack_sdk WebClient."""

from __future__ import annotations

import contextlib
import dataclasses
import http.server
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from slack_sdk import WebClient

from bot.errors import FileFetchError, FileTooLarge, UserFacingError
from bot.slack_files import (
    SlackFile,
    download,
    file_info,
    is_slack_url,
    is_table_file,
    newest_table_file,
)
from tests.fakes.slack_api import DEFAULT_SCOPES, FakeSlack, fake_slack

__all__ = ["fake_slack"]

REPO = Path(__file__).resolve().parents[2]
CSV = b"id,plan,churned\n" + b"".join(b"%d,pro,%s\n" % (i, b"yes" if i % 2 else b"no")
                                      for i in range(2000))  # fmt: skip


@pytest.fixture
def client(fake_slack: FakeSlack) -> WebClient:
    return WebClient(token=fake_slack.bot_token, base_url=fake_slack.url)


def says(error: UserFacingError, *parts: str) -> None:
    text = f"{error.message} {error.hint}"
    for part in parts:
        assert part in text, text
    assert "xoxb" not in text


# ---- is_table_file -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"name": "churn.csv", "filetype": "csv"}, True),
        ({"name": "Churn.CSV", "filetype": "binary"}, True),
        ({"name": "export", "filetype": "csv"}, True),  # Slack's type settles it
        ({"name": "sales.xlsx", "filetype": "xlsx"}, True),
        ({"name": "data.parquet", "filetype": "binary"}, True),
        ({"name": "data.tsv", "filetype": "text"}, True),
        ({"name": "old.xls", "filetype": "xls"}, True),  # the preview explains how to convert
        ({"name": "sales.csv.gz", "filetype": "gzip"}, True),
        ({"name": "export.zip", "filetype": "zip"}, True),  # the job reads one table inside
        ({"name": "server.log.gz", "filetype": "gzip"}, False),
        ({"name": "notes.txt", "filetype": "text"}, False),
        ({"name": "chart.png", "filetype": "png"}, False),
        ({"name": "csv", "filetype": "text"}, False),
        ({"name": "Budget", "filetype": "gsheet", "is_external": True}, False),
        ({"name": "gone.csv", "filetype": "csv", "mode": "tombstone"}, False),
        ({"id": "F1", "mode": "hidden_by_limit"}, False),
    ],
)
def test_is_table_file(obj: dict[str, Any], expected: bool) -> None:
    assert is_table_file(obj) is expected


# ---- file_info ---------------------------------------------------------------------------


def test_file_info_finds_the_message_carrying_the_file(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    shared = fake_slack.add_file("churn.csv", CSV, channel="C0GENERAL", user="U0ANA")
    found = file_info(client, shared["id"], "C0GENERAL")
    assert found.id == shared["id"]
    assert (found.name, found.title, found.size) == ("churn.csv", "churn.csv", len(CSV))
    assert found.filetype == "csv"
    assert found.user == "U0ANA"
    assert found.channel == "C0GENERAL"
    assert found.message_ts == shared["message_ts"]
    assert found.thread_ts is None
    assert found.reply_ts == shared["message_ts"]
    assert found.url_private_download == shared["url_private_download"]

    # Without a channel, its first share; in a channel it was never shared in, no message.
    assert file_info(client, shared["id"], None).message_ts == shared["message_ts"]
    elsewhere = file_info(client, shared["id"], "C0RANDOM")
    assert (elsewhere.channel, elsewhere.message_ts, elsewhere.reply_ts) == ("C0RANDOM", None, None)


def test_file_info_of_a_file_shared_inside_a_thread(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    parent = fake_slack.post_user_message("C0GENERAL", "the data follows in the thread")
    uploaded = client.files_upload_v2(
        channel="C0GENERAL", thread_ts=parent, content="a,b\n1,2\n", filename="in thread.csv"
    )
    found = file_info(client, uploaded["file"]["id"], "C0GENERAL")
    assert found.thread_ts == parent
    assert found.message_ts not in (None, parent)
    assert found.reply_ts == parent


@pytest.mark.parametrize(
    ("error", "extra", "words"),
    [
        ("missing_scope", {"needed": "files:read"}, ("`files:read`", "reinstall")),
        ("file_not_found", {}, ("no longer on Slack", "Share the file again")),
        ("file_deleted", {}, ("deleted",)),
        ("ratelimited", {}, ("slow down", "Try again")),
        ("fatal_error", {}, ("`fatal_error`", "Try again")),
    ],
)
def test_file_info_api_errors(
    fake_slack: FakeSlack, client: WebClient, error: str, extra: dict[str, Any], words: list[str]
) -> None:
    fake_slack.fail_next("files.info", error, **extra)
    with pytest.raises(FileFetchError) as caught:
        file_info(client, "F0NOPE", "C0GENERAL")
    assert caught.value.code == error
    says(caught.value, *words)


def test_file_info_unknown_file(client: WebClient) -> None:
    with pytest.raises(FileFetchError) as caught:
        file_info(client, "F0MISSING", "C0GENERAL")
    assert caught.value.code == "file_not_found"


def test_network_failure_is_a_sentence_too(fake_slack: FakeSlack) -> None:
    dead = WebClient(  # no retries: the default one waits half a second before trying again
        token=fake_slack.bot_token,
        base_url=f"http://127.0.0.1:{free_port()}/api/",
        retry_handlers=[],
    )
    with pytest.raises(FileFetchError) as caught:
        file_info(dead, "F1", None)
    assert caught.value.code == "network_error"
    with pytest.raises(FileFetchError):
        newest_table_file(dead, "C0GENERAL")


# ---- newest_table_file -------------------------------------------------------------------


@pytest.fixture
def channel_with_files(fake_slack: FakeSlack) -> dict[str, dict[str, Any]]:
    files = {}
    for name in ("sales_2023.csv", "churn.csv", "photo.png", "sales_2024.csv", "notes.txt"):
        files[name] = fake_slack.add_file(name, CSV, channel="C0GENERAL")
        fake_slack.post_user_message("C0GENERAL", f"that was {name}")
    files["churn.csv (again)"] = fake_slack.add_file("churn.csv", CSV, channel="C0GENERAL")
    files["Q3 numbers.xlsx"] = fake_slack.add_file(
        "export.xlsx", b"PK\x03\x04", channel="C0GENERAL", title="Q3 numbers"
    )
    fake_slack.post_user_message("C0GENERAL", "the newest message has no file")
    return files


def test_newest_table_file(
    client: WebClient, channel_with_files: dict[str, dict[str, Any]]
) -> None:
    newest = newest_table_file(client, "C0GENERAL")
    assert newest.id == channel_with_files["Q3 numbers.xlsx"]["id"]
    assert newest.message_ts == channel_with_files["Q3 numbers.xlsx"]["message_ts"]
    assert newest.channel == "C0GENERAL"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("churn.csv", "churn.csv (again)"),  # the same name twice: the newest
        ("CHURN", "churn.csv (again)"),  # the name without its ending, any case
        ("q3 numbers", "Q3 numbers.xlsx"),  # the title
        ("sales_2023", "sales_2023.csv"),
        ("exp", "Q3 numbers.xlsx"),  # a prefix only one file has
        ("2024", "sales_2024.csv"),  # a part only one file has
    ],
)
def test_newest_table_file_by_name(
    client: WebClient, channel_with_files: dict[str, dict[str, Any]], name: str, expected: str
) -> None:
    assert newest_table_file(client, "C0GENERAL", name).id == channel_with_files[expected]["id"]


def test_ambiguous_and_unknown_names(
    client: WebClient, channel_with_files: dict[str, dict[str, Any]]
) -> None:
    with pytest.raises(FileFetchError) as caught:
        newest_table_file(client, "C0GENERAL", "sales")
    assert caught.value.code == "ambiguous_file_name"
    says(caught.value, "“sales”", "“sales_2024.csv”", "“sales_2023.csv”")

    with pytest.raises(FileFetchError) as caught:
        newest_table_file(client, "C0GENERAL", "photo")  # a file, but not a table
    assert caught.value.code == "file_not_found"
    says(caught.value, "no table file named “photo”", "“export.xlsx”", "“churn.csv”")
    assert "photo.png" not in caught.value.hint
    assert "notes.txt" not in caught.value.hint


def test_no_table_file_within_the_limit(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.add_file("old.csv", CSV, channel="C0GENERAL")
    for i in range(4):
        fake_slack.post_user_message("C0GENERAL", f"chatter {i}")
    with pytest.raises(FileFetchError) as caught:
        newest_table_file(client, "C0GENERAL", limit=3)
    assert caught.value.code == "no_table_file"
    says(caught.value, "last 3 messages", "Share the file")
    assert newest_table_file(client, "C0GENERAL", limit=10).name == "old.csv"


def test_empty_channel(client: WebClient) -> None:
    with pytest.raises(FileFetchError) as caught:
        newest_table_file(client, "C0RANDOM")
    assert caught.value.code == "no_table_file"


@pytest.mark.parametrize(
    ("error", "extra", "words"),
    [
        ("not_in_channel", {}, ("not a member", "/invite")),
        ("channel_not_found", {}, ("cannot see this channel", "/invite")),
        ("missing_scope", {"needed": "groups:history"}, ("`groups:history`", "reinstall")),
        ("invalid_auth", {}, ("token", "SLACK_BOT_TOKEN")),
    ],
)
def test_history_api_errors(
    fake_slack: FakeSlack,
    client: WebClient,
    error: str,
    extra: dict[str, Any],
    words: tuple[str, ...],
) -> None:
    fake_slack.fail_next("conversations.history", error, **extra)
    with pytest.raises(FileFetchError) as caught:
        newest_table_file(client, "C0GENERAL")
    assert caught.value.code == error
    says(caught.value, "read this channel's messages", *words)


# ---- download ----------------------------------------------------------------------------


def shared_file(fake: FakeSlack, client: WebClient, name: str = "churn.csv") -> SlackFile:
    obj = fake.add_file(name, CSV, channel="C0GENERAL")
    return file_info(client, obj["id"], "C0GENERAL")


def test_download_streams_in_chunks(fake_slack: FakeSlack, client: WebClient) -> None:
    file = shared_file(fake_slack, client)
    chunks = list(
        download(
            file, fake_slack.bot_token, len(CSV), slack_api_url=fake_slack.url, chunk_size=1000
        )
    )
    assert b"".join(chunks) == CSV
    assert len(chunks) > 1
    assert max(len(c) for c in chunks) <= 1000
    assert fake_slack.calls("download")[-1].token == fake_slack.bot_token


def test_download_non_ascii_name(fake_slack: FakeSlack, client: WebClient) -> None:
    file = shared_file(fake_slack, client, "données clients.csv")
    assert (
        b"".join(download(file, fake_slack.bot_token, 10**6, slack_api_url=fake_slack.url)) == CSV
    )


def test_too_large_by_size_is_refused_before_downloading(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    big = dataclasses.replace(shared_file(fake_slack, client), size=312 * 1024 * 1024)
    with pytest.raises(FileTooLarge) as caught:
        download(big, fake_slack.bot_token, 100 * 1024 * 1024, slack_api_url=fake_slack.url)
    says(
        caught.value, "“churn.csv” is 312 MB; the limit is 100 MB.", "sample", "AUTOML_MAX_FILE_MB"
    )
    assert not fake_slack.calls("download")


def test_too_large_while_streaming(fake_slack: FakeSlack, client: WebClient) -> None:
    # Slack's size can be missing or wrong: the bytes that arrive are what counts.
    unknown = dataclasses.replace(shared_file(fake_slack, client), size=0)
    received: list[bytes] = []
    with pytest.raises(FileTooLarge) as caught:
        received.extend(
            download(
                unknown, fake_slack.bot_token, 5000, slack_api_url=fake_slack.url, chunk_size=1000
            )
        )
    assert sum(map(len, received)) <= 5000
    says(caught.value, f"is {len(CSV) // 1024} KB; the limit is 5 KB", "AUTOML_MAX_FILE_MB")

    # Without a Content-Length, the stream is cut once it passes the limit.
    chunked = dataclasses.replace(unknown, url_private_download=chunked_server(CSV))
    received.clear()
    chunked_api = chunked.url_private_download.split("/files-pri/")[0] + "/api/"
    with pytest.raises(FileTooLarge) as caught:
        received.extend(
            download(
                chunked, fake_slack.bot_token, 5000, slack_api_url=chunked_api, chunk_size=1000
            )
        )
    assert 0 < sum(map(len, received)) <= 5000
    says(caught.value, "larger than the limit of 5 KB")


def test_login_page_without_files_read(fake_slack: FakeSlack, client: WebClient) -> None:
    file = shared_file(fake_slack, client)
    fake_slack.scopes.discard("files:read")  # the scope was removed after the lookup
    with pytest.raises(FileFetchError) as caught:
        list(download(file, fake_slack.bot_token, 10**6, slack_api_url=fake_slack.url))
    assert caught.value.code == "missing_scope"
    says(caught.value, "sign-in page", "`files:read`", "reinstall")


def test_files_info_without_files_read_names_the_scope() -> None:
    scopes = tuple(s for s in DEFAULT_SCOPES if s != "files:read")
    with FakeSlack(scopes=scopes) as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.url)
        with pytest.raises(FileFetchError) as caught:
            shared_file(fake, client)
    says(caught.value, "`files:read`")


def test_login_page_with_the_wrong_token(fake_slack: FakeSlack, client: WebClient) -> None:
    file = shared_file(fake_slack, client)
    with pytest.raises(FileFetchError) as caught:
        list(download(file, "xoxb-someone-else", 10**6, slack_api_url=fake_slack.url))
    says(caught.value, "`files:read`")


def test_deleted_file(fake_slack: FakeSlack, client: WebClient) -> None:
    file = shared_file(fake_slack, client)
    del fake_slack.files[file.id]
    with pytest.raises(FileFetchError) as caught:
        list(download(file, fake_slack.bot_token, 10**6, slack_api_url=fake_slack.url))
    assert caught.value.code == "file_deleted"
    says(caught.value, "“churn.csv” is no longer on Slack", "Share the file again")


def test_network_error(fake_slack: FakeSlack, client: WebClient) -> None:
    file = shared_file(fake_slack, client)
    dead_api = f"http://127.0.0.1:{free_port()}/api/"  # a Slack that does not answer
    dead = dataclasses.replace(
        file, url_private_download=dead_api.replace("/api/", "/files-pri/x/download/a.csv")
    )
    with pytest.raises(FileFetchError) as caught:
        list(download(dead, fake_slack.bot_token, 10**6, slack_api_url=dead_api, timeout_s=5))
    assert caught.value.code == "network_error"
    says(caught.value, "connection failed", "Try again")


@pytest.mark.parametrize("url", ["", "file:///etc/passwd", "ftp://example.com/a.csv"])
def test_only_http_links_are_opened(fake_slack: FakeSlack, client: WebClient, url: str) -> None:
    file = dataclasses.replace(shared_file(fake_slack, client), url_private_download=url)
    with pytest.raises(FileFetchError) as caught:
        download(file, fake_slack.bot_token, 10**6, slack_api_url=fake_slack.url)
    assert caught.value.code == "no_download_url"


def test_stopping_early_closes_the_connection(fake_slack: FakeSlack, client: WebClient) -> None:
    stream: Iterator[bytes] = download(
        shared_file(fake_slack, client),
        fake_slack.bot_token,
        10**6,
        slack_api_url=fake_slack.url,
        chunk_size=100,
    )
    assert next(stream)
    stream.close()  # type: ignore[attr-defined]  # a generator: closing releases the socket


# ---- the token goes only to Slack ---------------------------------------------------------


@contextlib.contextmanager
def recording_server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """An HTTP server on another port that answers 200 and records each request's headers."""
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(dict(self.headers.items()))
            self.send_response(200)
            self.send_header("Content-Length", str(len(CSV)))
            self.end_headers()
            self.wfile.write(CSV)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/files-pri/T-F1/download/a.csv", seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_link_elsewhere_gets_no_token(fake_slack: FakeSlack, client: WebClient) -> None:
    file = shared_file(fake_slack, client)
    with recording_server() as (elsewhere, seen):
        other = dataclasses.replace(file, url_private_download=elsewhere)
        with pytest.raises(FileFetchError) as caught:
            list(download(other, fake_slack.bot_token, 10**6, slack_api_url=fake_slack.url))
    assert caught.value.code == "not_a_slack_link"
    assert seen == []  # not even asked
    says(caught.value, "“churn.csv”", "is not Slack", "token only to Slack", "Share the file")


def test_a_redirect_elsewhere_is_refused(fake_slack: FakeSlack, client: WebClient) -> None:
    file = shared_file(fake_slack, client)
    with recording_server() as (elsewhere, seen):
        bounce = f"{fake_slack.root}/redirect?to={quote(elsewhere, safe='')}"
        other = dataclasses.replace(file, url_private_download=bounce)
        with pytest.raises(FileFetchError) as caught:
            list(download(other, fake_slack.bot_token, 10**6, slack_api_url=fake_slack.url))
    assert caught.value.code == "not_a_slack_link"
    assert not any("Authorization" in headers for headers in seen)
    assert seen == []
    says(caught.value, "sent me on to 127.0.0.1:", "is not Slack")


def test_a_redirect_within_slack_keeps_the_token(fake_slack: FakeSlack, client: WebClient) -> None:
    file = shared_file(fake_slack, client)
    bounce = f"{fake_slack.root}/redirect?to={quote(file.url_private_download, safe='')}"
    moved = dataclasses.replace(file, url_private_download=bounce)
    got = b"".join(download(moved, fake_slack.bot_token, 10**6, slack_api_url=fake_slack.url))
    assert got == CSV
    assert fake_slack.calls("download")[-1].token == fake_slack.bot_token


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://files.slack.com/files-pri/T1-F1/download/a.csv", True),
        ("https://files-edu.slack.com/files-pri/T1-F1/a.csv", True),
        ("https://a.slack-edge.com/x.csv", True),
        ("https://files.slack-gov.com/files-pri/T1-F1/a.csv", True),
        ("https://FILES.SLACK.COM./files-pri/a.csv", True),
        ("https://files.slack.com:443/a.csv", True),
        ("http://files.slack.com/files-pri/a.csv", False),  # no token in the clear
        ("https://files.slack.com:8443/a.csv", False),
        ("https://files.slack.com.evil.example/a.csv", False),
        ("https://evilslack.com/a.csv", False),
        ("https://evil.example/files.slack.com/a.csv", False),
        ("https://files.slack.com@evil.example/a.csv", False),
        ("https://x:y@files.slack.com/a.csv", False),
        ("https://files.slack.com:port/a.csv", False),
        ("http://127.0.0.1:9000/files-pri/a.csv", True),  # the configured API's origin
        ("http://127.0.0.1:9001/files-pri/a.csv", False),
        ("https://127.0.0.1:9000/files-pri/a.csv", False),
        ("http://localhost:9000/files-pri/a.csv", False),
    ],
)
def test_is_slack_url(url: str, expected: bool) -> None:
    assert is_slack_url(url, "http://127.0.0.1:9000/api/") is expected


def test_slacks_own_api_url_allows_its_file_host() -> None:
    assert is_slack_url("https://files.slack.com/a.csv", "https://slack.com/api/")
    assert not is_slack_url("http://slack.com/a.csv", "https://slack.com/api/")


def test_module_imports_nothing_heavy() -> None:
    # pydantic comes with bot.messages (where its sentences are), which uses the contract.
    code = (
        "import sys, bot.slack_files\n"
        "print(sorted({'pandas', 'numpy', 'slack_bolt', 'fastapi'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def chunked_server(body: bytes) -> str:
    """A one-request HTTP server that sends `body` without a Content-Length."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        with server:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/csv\r\n\r\n")
                with contextlib.suppress(OSError):  # the client hangs up once it has enough
                    conn.sendall(body)

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}/files-pri/T-F1/download/big.csv"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
