"""The stand-in's transport: an HTTP server on 127.0.0.1 that hands each request to `WebApi`.

Form-encoded, JSON and query-string parameters are all accepted, with the token in
`Authorization: Bearer` or in a `token` parameter, as Slack accepts them.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bot.console.slack_standin.api import WebApi

POLL_INTERVAL_S = 0.05  # how often the serving loop checks for `stop()`


class HttpServer:
    """Serves a `WebApi` from a thread, on a free port of 127.0.0.1."""

    def __init__(self, api: WebApi) -> None:
        self.api = api
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        handler = type("_BoundHandler", (_Handler,), {"api": self.api})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        # A short poll interval: `shutdown()` waits for the loop's next poll (0.5 s by default).
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL_S},
            name="fake-slack",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def root(self) -> str:
        """`http://127.0.0.1:<port>`; RuntimeError before `start`."""
        if self._server is None:
            raise RuntimeError("SlackStandIn is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"


def _bearer(auth: str | None) -> str | None:
    return auth[7:] if auth and auth.startswith("Bearer ") else None


class _Handler(BaseHTTPRequestHandler):
    api: WebApi
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._dispatch(self.rfile.read(length) if length else b"")

    def _dispatch(self, body: bytes) -> None:
        split = urlsplit(self.path)
        path = unquote(split.path)
        if path.startswith("/upload/"):
            self._send(*self.api.upload(path, body), {})
        elif path.startswith("/respond/"):
            self._send(*self.api.respond(path, body), {})
        elif path.startswith("/files-pri/"):
            self._send(*self.api.download(path, _bearer(self.headers.get("Authorization"))), {})
        elif path.startswith("/api/"):
            self._api_call(path[len("/api/") :], split.query, body)
        elif path == "/redirect":  # a link that sends the client on: `?to=URL`
            to = parse_qs(split.query).get("to", [""])[-1]
            self._send(302, b"", "text/plain", {"Location": to})
        else:
            self._send(404, b"Not Found", "text/plain", {})

    def _api_call(self, method: str, query: str, body: bytes) -> None:
        params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query).items()}
        ctype = self.headers.get("Content-Type", "")
        if body and ctype.startswith("application/json"):
            try:
                params.update(json.loads(body))
            except ValueError:
                self._json(200, {"ok": False, "error": "invalid_json"}, {})
                return
        elif body:
            params.update({k: v[-1] for k, v in parse_qs(body.decode("utf-8")).items()})
        token = _bearer(self.headers.get("Authorization")) or params.pop("token", None)
        params.pop("token", None)
        self._json(*self.api.call(method, params, token))

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
        body = json.dumps(payload).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
