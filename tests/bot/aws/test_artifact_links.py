"""Report and model links on AWS, end to end, and the model signature the completion writes.

The completion Lambda (called with Batch's SUCCEEDED event) writes the links into the results
message; the bot Lambda serves them, called through Mangum with the GET event API Gateway's
HTTP API (payload 2.0) sends for a browser that opens one. moto stands in for S3, DynamoDB,
Secrets Manager and Batch; the Slack fake for Slack.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

from bot.aws_lambda import bot_handler, completion_handler
from bot.backends.aws import secrets
from bot.backends.aws.artifacts import DOWNLOAD_EXPIRY_S, INLINE_MAX_BYTES
from bot.jobs import Job
from bot.links import LinkSigner, derive_link_key
from bot.model_signature import (
    ModelNotTrusted,
    check_model_bytes,
    derive_model_key,
    signed_sha256,
)
from bot.web import REPORT_CSP
from contract.jobs import Artifacts
from tests.bot.aws_lambda.batch_event import attempt, batch_event
from tests.bot.blocks import in_thread, section_texts
from tests.builders import make_result
from tests.fakes.slack_api import FakeSlack, fake_slack

from .conftest import BUCKET, PUBLIC_URL
from .test_lambda_handlers import (
    ACCOUNT,
    PNG,
    SIGNING_SECRET,
    LambdaContext,
    a_job,
    deployed,
    store,
)

__all__ = ["deployed", "fake_slack"]

REPORT = b"<!DOCTYPE html><html><head><title>Sweetviz</title></head><body>churn</body></html>"
MODEL = b"\x80\x04 a pickled model"
LAMBDA_RESPONSE_LIMIT = 6_000_000  # bytes a Lambda behind API Gateway may answer with


def link_request(url: str) -> dict[str, Any]:
    """The event API Gateway's HTTP API (payload 2.0) hands the bot for a browser's GET."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC_URL, url
    agent = "Mozilla/5.0 (X11; Linux x86_64)"
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "GET /artifacts/{proxy+}",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": {
            "host": parts.netloc,
            "user-agent": agent,
            "accept": "text/html,*/*",
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443",
        },
        "queryStringParameters": dict(parse_qsl(parts.query)) or None,
        "pathParameters": {"proxy": parts.path.removeprefix("/artifacts/")},
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "abc123",
            "domainName": parts.netloc,
            "domainPrefix": "abc123",
            "http": {
                "method": "GET",
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": agent,
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "GET /artifacts/{proxy+}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }


def open_link(url: str) -> tuple[int, dict[str, str], bytes, dict[str, Any]]:
    """(status, headers, body, the whole response) of the bot Lambda for `url`."""
    response = bot_handler.handler(link_request(url), LambdaContext())
    body = response.get("body") or ""
    data = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
    headers = {name.lower(): value for name, value in response["headers"].items()}
    return response["statusCode"], headers, data, response


def put_run(s3_client: Any, job: Job, *, report: bytes = REPORT) -> None:
    """What a succeeded training job leaves in S3: charts, report, model and result.json."""
    artifacts = Artifacts(
        charts=make_result(job).artifacts.charts,
        report="report.html",
        model="model.joblib",
        model_sha256=hashlib.sha256(MODEL).hexdigest(),
    )
    result = make_result(job, artifacts=artifacts)
    prefix = f"runs/{job.job_id}"
    for chart in result.artifacts.charts:
        s3_client.put_object(Bucket=BUCKET, Key=f"{prefix}/{chart.path}", Body=PNG)
    s3_client.put_object(Bucket=BUCKET, Key=f"{prefix}/report.html", Body=report)
    s3_client.put_object(Bucket=BUCKET, Key=f"{prefix}/model.joblib", Body=MODEL)
    s3_client.put_object(Bucket=BUCKET, Key=f"{prefix}/result.json", Body=result.model_dump_json())


def succeed(job: Job) -> None:
    success = batch_event(job.job_id, "SUCCEEDED", attempts=[attempt(1_700_000_000_000, 95)])
    done = completion_handler.handler(success, None)["done"]
    assert done == f"ended {job.job_id} (SUCCEEDED)"


def results_links(fake: FakeSlack, job: Job) -> dict[str, str]:
    """The label -> URL of each link in the job's results message."""
    results = in_thread(fake, fake.channel, job.thread_ts or "", header="Results")
    found = re.findall(r"<([^|>]+)\|([^>]+)>", "\n".join(section_texts(results["blocks"])))
    return {label: url for url, label in found}


def new_session(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Other Lambda credentials, and every container built afresh: the old session is gone."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", f"{name}-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", f"{name}-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", f"{name}-token")
    secrets.clear_cache()
    bot_handler._asgi_handler.cache_clear()
    completion_handler._completion.cache_clear()


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_links_in_the_results_open_on_the_bot_after_the_session_that_made_them_is_gone(
    deployed: FakeSlack, dynamodb_client: Any, s3_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = deployed
    job = a_job(dynamodb_client, fake)
    put_run(s3_client, job)
    new_session(monkeypatch, "completion")
    succeed(job)
    links = results_links(fake, job)
    report_url, model_url = links["Open the data report"], links["Download the model"]
    for url in (report_url, model_url):
        assert url.startswith(f"{PUBLIC_URL}/artifacts/{job.job_id}/")
        assert "X-Amz" not in url and "completion-key" not in url  # no AWS session in it
        # Valid for the whole lifetime the settings give links (24 hours by default).
        assert abs(int(query_of(url)["expires"]) - (time.time() + 24 * 3600)) < 60

    new_session(monkeypatch, "bot")
    status, headers, body, _ = open_link(report_url)
    assert (status, body) == (200, REPORT)
    assert headers["content-type"].startswith("text/html")
    # The report runs in an opaque origin: never the API's, where the bot answers Slack.
    assert headers["content-security-policy"] == REPORT_CSP
    assert "sandbox" in REPORT_CSP and "allow-same-origin" not in REPORT_CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert "no-store" in headers["cache-control"]
    assert headers["referrer-policy"] == "no-referrer"

    status, headers, body, _ = open_link(model_url)
    assert status == 302 and body == b""
    download = urlsplit(headers["location"])
    assert download.hostname is not None and download.hostname.startswith(BUCKET)
    assert download.path == f"/runs/{job.job_id}/model.joblib"
    fields = query_of(headers["location"])
    assert fields["response-content-disposition"] == 'attachment; filename="model.joblib"'
    assert fields["X-Amz-Expires"] == str(DOWNLOAD_EXPIRY_S)  # made now, by this session
    assert fields["X-Amz-Credential"].startswith("bot-key/")
    assert "no-store" in headers["cache-control"]


def test_expired_tampered_and_unknown_links_are_refused_in_words(
    deployed: FakeSlack, dynamodb_client: Any, s3_client: Any
) -> None:
    fake = deployed
    job = a_job(dynamodb_client, fake)
    put_run(s3_client, job)
    succeed(job)
    report_url = results_links(fake, job)["Open the data report"]
    fields = query_of(report_url)
    key = derive_link_key(SIGNING_SECRET)  # as both Lambdas derive it
    an_hour_ago = LinkSigner(key, clock=lambda: time.time() - 3600)
    flipped = ("0" if fields["sig"][0] != "0" else "1") + fields["sig"][1:]
    base = report_url.partition("?")[0]
    refused = {
        "expired": (PUBLIC_URL + an_hour_ago.sign(job.job_id, "report.html", 60), 410),
        "signature changed": (f"{base}?expires={fields['expires']}&sig={flipped}", 403),
        "expiry pushed back": (
            f"{base}?expires={int(fields['expires']) + 86400}&sig={fields['sig']}",
            403,
        ),
        "no signature": (base, 403),
        "another job's file": (report_url.replace(f"/{job.job_id}/", "/0therjob/"), 403),
        "another file of the job": (report_url.replace("/report.html", "/result.json"), 403),
        "signed with another secret": (
            PUBLIC_URL
            + LinkSigner(derive_link_key("another-secret")).sign(job.job_id, "report.html", 600),
            403,
        ),
        "signed, but no such file": (
            PUBLIC_URL + LinkSigner(key).sign(job.job_id, "nothing-here.html", 600),
            404,
        ),
    }
    first_lines = {410: "This link has expired.", 403: "This link is not valid.", 404: "Not found."}
    for what, (url, expected) in refused.items():
        status, headers, body, _ = open_link(url)
        assert status == expected, f"{what}: {status}"
        assert headers["content-type"].startswith("text/plain"), what
        text = body.decode()
        assert text.splitlines()[0] == first_lines[expected], what
        assert len(text) < 200 and "Traceback" not in text and b"churn" not in body, what
    expired_text = open_link(refused["expired"][0])[2].decode()
    assert "/automl status" in expired_text  # how to get a fresh link


def test_a_report_too_large_for_lambda_is_a_fresh_download(
    deployed: FakeSlack, dynamodb_client: Any, s3_client: Any
) -> None:
    fake = deployed
    job = a_job(dynamodb_client, fake)
    big = b"<html>" + b"x" * INLINE_MAX_BYTES + b"</html>"
    put_run(s3_client, job, report=big)
    succeed(job)
    status, headers, body, _ = open_link(results_links(fake, job)["Open the data report"])
    assert status == 302 and body == b""
    fields = query_of(headers["location"])
    # Not a page of the bucket's origin (S3 sends no CSP): a file the browser saves.
    assert fields["response-content-disposition"] == 'attachment; filename="report.html"'
    assert fields["response-content-type"] == "application/octet-stream"


def test_the_largest_inline_report_fits_lambdas_response_limit(
    deployed: FakeSlack, dynamodb_client: Any, s3_client: Any
) -> None:
    """Quotes and accents cost 2 to 6 bytes each in JSON: reports go base64, 4/3, always."""
    fake = deployed
    job = a_job(dynamodb_client, fake)
    unit = '"é'.encode()
    filler = unit * ((INLINE_MAX_BYTES - 13) // len(unit))
    report = b"<html>" + filler + b"</html>"
    assert INLINE_MAX_BYTES - len(unit) < len(report) <= INLINE_MAX_BYTES
    put_run(s3_client, job, report=report)
    succeed(job)
    status, _, body, response = open_link(results_links(fake, job)["Open the data report"])
    assert (status, body == report) == (200, True)
    assert len(json.dumps(response).encode()) <= LAMBDA_RESPONSE_LIMIT


def test_the_completion_signs_the_model_it_announces(
    deployed: FakeSlack, dynamodb_client: Any, s3_client: Any
) -> None:
    fake = deployed
    job = a_job(dynamodb_client, fake)
    put_run(s3_client, job)
    succeed(job)
    ended = store(dynamodb_client).get(job.job_id)
    assert ended is not None and ended.status == "succeeded"
    record = s3_client.get_object(Bucket=BUCKET, Key=f"runs/{job.job_id}/model.sig")["Body"]
    record = record.read()
    keys = [derive_model_key(SIGNING_SECRET)]
    assert signed_sha256(record, keys) == hashlib.sha256(MODEL).hexdigest()
    check_model_bytes(job.job_id, MODEL, record, keys)  # what a loader on AWS will call
    with pytest.raises(ModelNotTrusted, match="changed after it was signed"):
        check_model_bytes(job.job_id, MODEL + b"\x00", record, keys)
    with pytest.raises(ModelNotTrusted, match="another job's"):
        check_model_bytes("0therjob", MODEL, record, keys)
    with pytest.raises(ModelNotTrusted, match="another key"):
        check_model_bytes(job.job_id, MODEL, record, [derive_model_key("another-secret")])
    with pytest.raises(ModelNotTrusted, match=r"no model\.sig"):
        check_model_bytes(job.job_id, MODEL, None, keys)
