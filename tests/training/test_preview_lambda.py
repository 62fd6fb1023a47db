"""The preview Lambda: `training.aws.preview_lambda.preview_handler`, in process against moto's
S3 and as the image runs it
(`python -m awslambdaric training.aws.preview_lambda.preview_handler`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from contract.jobs import DatasetPreview
from tests.conftest import SAMPLE_CHURN
from tests.training.conftest import FakeAws
from tests.training.test_preview import messy_churn
from training.aws import preview_lambda
from training.preview import preview_table

BUCKET = "preview-bkt"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    from moto import mock_aws

    from training.aws import storage

    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # The handler's scratch folders go here, so a test can see that they are removed.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "lambda-tmp"))
    (tmp_path / "lambda-tmp").mkdir()
    with mock_aws():
        client = storage.client()
        client.create_bucket(Bucket=BUCKET)
        yield client


def _event(key: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"dataset_uri": f"s3://{BUCKET}/{key}", "file_name": name, **extra}


def test_a_good_file_gives_the_same_preview_as_the_cli(s3: Any, tmp_path: Path) -> None:
    data = messy_churn(tmp_path / "churn.csv")
    s3.upload_file(str(data), BUCKET, "datasets/preview-F1-C1/churn.csv")

    answer = preview_lambda.preview_handler(
        _event("datasets/preview-F1-C1/churn.csv", "churn (Q3).csv"), None
    )

    json.dumps(answer)  # what Lambda will serialise
    preview = DatasetPreview.model_validate(answer)
    assert preview == preview_table(data, "churn (Q3).csv")
    assert preview.suggested_target == "is_churned"
    assert list((tmp_path / "lambda-tmp").iterdir()) == []  # a warm Lambda keeps /tmp


def test_a_bad_file_gives_an_error_a_person_can_act_on(s3: Any, tmp_path: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key="datasets/p/photo.csv", Body=b"\x89PNG\r\n\x1a\n" + bytes(300))

    answer = preview_lambda.preview_handler(_event("datasets/p/photo.csv", "photo.csv"), None)

    assert set(answer) == {"error"}
    assert set(answer["error"]) == {"code", "message", "hint"}
    assert answer["error"]["code"] != "internal_error"
    assert "photo.csv" in answer["error"]["message"]
    assert list((tmp_path / "lambda-tmp").iterdir()) == []


def test_missing_and_too_large_objects(s3: Any) -> None:
    missing = preview_lambda.preview_handler(_event("datasets/p/gone.csv", "gone.csv"), None)
    assert missing["error"]["code"] == "unreadable_file"

    s3.upload_file(str(SAMPLE_CHURN), BUCKET, "datasets/p/churn.csv")
    limits = {"max_file_mb": 0.01, "max_columns": 2000}
    large = preview_lambda.preview_handler(
        _event("datasets/p/churn.csv", "churn.csv", limits=limits), None
    )
    assert large["error"]["code"] == "file_too_large"


def test_a_malformed_request_or_a_bug_is_answered_without_a_traceback(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = preview_lambda.preview_handler({"dataset_uri": "/etc/passwd"}, None)
    assert bad["error"]["code"] == "bad_request"
    assert "dataset_uri" in bad["error"]["message"]
    assert "file_name" in bad["error"]["message"]
    assert preview_lambda.preview_handler("not an object", None)["error"]["code"] == "bad_request"

    s3.upload_file(str(SAMPLE_CHURN), BUCKET, "datasets/p/churn.csv")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug deep inside")

    monkeypatch.setattr("training.preview.preview_table", broken)
    crashed = preview_lambda.preview_handler(_event("datasets/p/churn.csv", "churn.csv"), None)
    assert crashed["error"]["code"] == "internal_error"
    assert "churn.csv" in crashed["error"]["message"]
    assert "a bug deep inside" not in json.dumps(crashed)


def test_home_and_caches_move_to_tmp_when_home_is_read_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "no-such-home"))  # as root, only absence fails
    for name in ("MPLCONFIGDIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    preview_lambda.use_writable_dirs(tmp_path)
    assert os.environ["HOME"] == str(tmp_path)
    assert os.environ["MPLCONFIGDIR"] == str(tmp_path / "matplotlib")

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MPLCONFIGDIR", "/kept")
    preview_lambda.use_writable_dirs(Path("/elsewhere"))  # a writable HOME: nothing changes
    assert os.environ["MPLCONFIGDIR"] == "/kept"


# ---- as the image runs it: awslambdaric against a stand-in for Lambda's Runtime API ----------


class RuntimeApi:
    """Lambda's Runtime API, enough for awslambdaric: hands out `events` one by one, then
    holds the next poll open; records each response by request id."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.pending = list(events)
        self.responses: dict[str, Any] = {}
        self.errors: list[str] = []
        self.done = threading.Event()
        self.closing = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if not self.path.endswith("/runtime/invocation/next"):
                    return self._reply(HTTPStatus.NOT_FOUND)
                if not api.pending:
                    api.done.set()
                    api.closing.wait(60)  # the test ends the runtime meanwhile
                    return self._reply(HTTPStatus.GONE)
                number = len(api.responses) + len(api.errors) + 1
                body = json.dumps(api.pending.pop(0)).encode()
                self.send_response(HTTPStatus.OK)
                self.send_header("Lambda-Runtime-Aws-Request-Id", f"req-{number}")
                self.send_header(
                    "Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000)
                )
                self.send_header(
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:automl-preview",
                )
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = self.path.strip("/").split("/")
                if parts[-1] == "response":
                    api.responses[parts[-2]] = json.loads(body)
                else:  # invocation or init errors: a failed handler
                    api.errors.append(body.decode(errors="replace"))
                self._reply(HTTPStatus.ACCEPTED)

            def _reply(self, status: HTTPStatus) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.slow
def test_the_image_command_serves_previews_through_awslambdaric(
    fake_aws: FakeAws, tmp_path: Path
) -> None:
    s3 = fake_aws.client("s3")
    bucket = fake_aws.new_bucket()
    s3.upload_file(str(SAMPLE_CHURN), bucket, "datasets/preview-F1-C1/churn.csv")
    s3.put_object(Bucket=bucket, Key="datasets/preview-F2-C1/empty.csv", Body=b"")
    api = RuntimeApi(
        [
            {
                "dataset_uri": f"s3://{bucket}/datasets/preview-F1-C1/churn.csv",
                "file_name": "c.csv",
            },
            {
                "dataset_uri": f"s3://{bucket}/datasets/preview-F2-C1/empty.csv",
                "file_name": "e.csv",
            },
        ]
    )
    # The command the CDK gives the Lambda: entrypoint + cmd (see training/Dockerfile).
    command = [sys.executable, "-m", "awslambdaric", "training.aws.preview_lambda.preview_handler"]
    env = fake_aws.env(AWS_LAMBDA_RUNTIME_API=api.address, HOME=str(tmp_path / "read-only"))
    runtime = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        finished = api.done.wait(120)
    finally:
        runtime.kill()
        output, _ = runtime.communicate(timeout=30)
        api.close()

    assert finished, output
    assert api.errors == [], output
    good = DatasetPreview.model_validate(api.responses["req-1"])
    assert (good.file_name, good.rows, good.suggested_target) == ("c.csv", 3000, "churned")
    assert api.responses["req-2"]["error"]["code"] == "empty_file"


def test_it_reads_the_file_through_the_presigned_url_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On AWS its role has no S3 access: the bot's presigned GET is all it can read."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "lambda-tmp"))
    (tmp_path / "lambda-tmp").mkdir()
    data = messy_churn(tmp_path / "churn.csv").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path.startswith("/datasets/p/churn.csv?")
            self.send_response(HTTPStatus.OK if found else HTTPStatus.FORBIDDEN)
            self.send_header("Content-Length", str(len(data) if found else 0))
            self.end_headers()
            if found:
                self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        answer = preview_lambda.preview_handler(
            _event(
                "datasets/p/churn.csv",
                "churn.csv",
                dataset_url=f"{base}/datasets/p/churn.csv?X-Amz-Signature=s",
            ),
            None,
        )
        assert DatasetPreview.model_validate(answer).suggested_target == "is_churned"
        expired = preview_lambda.preview_handler(
            _event("datasets/p/churn.csv", "churn.csv", dataset_url=f"{base}/expired"), None
        )
        assert expired["error"]["code"] == "unreadable_file"
        limits = {"max_file_mb": 0.001, "max_columns": 2000}
        large = preview_lambda.preview_handler(
            _event(
                "datasets/p/churn.csv",
                "churn.csv",
                dataset_url=f"{base}/datasets/p/churn.csv?X-Amz-Signature=s",
                limits=limits,
            ),
            None,
        )
        assert large["error"]["code"] == "file_too_large"
    finally:
        server.shutdown()
    assert list((tmp_path / "lambda-tmp").iterdir()) == []
