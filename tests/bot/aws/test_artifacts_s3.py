"""`S3ArtifactStore` against moto: layout, round trips, streamed uploads, limits, links and
what the bot's link route delivers for them."""

from __future__ import annotations

import base64
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from bot.backends.aws.artifacts import (
    DOWNLOAD_EXPIRY_S,
    INLINE_MAX_BYTES,
    MIN_PART_SIZE,
    S3ArtifactStore,
    split_s3_uri,
)
from bot.backends.local.artifacts import ArtifactNotFound, TooLarge, UnsafeArtifactPath
from bot.errors import FileTooLarge
from bot.links import InlineContent, LinkSigner, RedirectTo
from contract.jobs import Artifacts, ErrorInfo, JobResult, JobSpec
from tests.builders import make_spec

from .conftest import BUCKET, LINK_KEY, PUBLIC_URL, REGION
from .spy import Spy

MIB = 1024 * 1024


def spec(job_id: str = "job-1") -> JobSpec:
    return make_spec(
        job_id=job_id,
        dataset_uri=f"s3://{BUCKET}/datasets/{job_id}/churn.csv",
        output_uri=f"s3://{BUCKET}/runs/{job_id}",
    )


def keys(s3: Any, prefix: str = "") -> list[str]:
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def open_uploads(s3: Any) -> list[str]:
    return [u["Key"] for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]


def test_what_is_not_there(s3_store: S3ArtifactStore, s3_client: Any) -> None:
    """No result yet is None, and discarding a dataset that is gone is fine (the port's word)."""
    assert s3_store.load_result("job-1") is None
    s3_store.discard_dataset("job-1")
    assert keys(s3_client) == []


def test_layout(s3_store: S3ArtifactStore) -> None:
    assert s3_store.output_uri("job-1") == f"s3://{BUCKET}/runs/job-1"
    assert s3_store.dataset_key("job-1", "../../etc/Sales 2024.csv") == (
        "datasets/job-1/Sales_2024.csv"
    )
    assert s3_store.artifact_key("job-1", "./charts//roc.png") == "runs/job-1/charts/roc.png"
    assert split_s3_uri("s3://b/runs/x/spec.json") == ("b", "runs/x/spec.json")
    for bad in ("/tmp/x", "s3://", "s3://bucket", "s3://bucket/"):
        with pytest.raises(ValueError, match="s3://"):
            split_s3_uri(bad)


@pytest.mark.parametrize("job_id", ["", "..", "a/b", ".hidden", "a" * 65])
def test_bad_job_ids(s3_store: S3ArtifactStore, job_id: str) -> None:
    with pytest.raises(ValueError, match="job id"):
        s3_store.output_uri(job_id)
    with pytest.raises(ValueError, match="job id"):
        s3_store.save_dataset(job_id, "a.csv", [b"x"], 10)
    with pytest.raises(ValueError, match="job id"):
        s3_store.link(job_id, "model.joblib")


@pytest.mark.parametrize("path", ["../job-2/model.joblib", "/etc/passwd", "%2e%2e/x", "a\\b", ""])
def test_paths_that_leave_the_run_are_refused(s3_store: S3ArtifactStore, path: str) -> None:
    with pytest.raises(UnsafeArtifactPath):
        s3_store.read_bytes("job-1", path)
    with pytest.raises(UnsafeArtifactPath):
        s3_store.link("job-1", path)


def test_spec_and_result_round_trip(s3_store: S3ArtifactStore, s3_client: Any) -> None:
    uri = s3_store.save_spec(spec())
    assert uri == f"s3://{BUCKET}/runs/job-1/spec.json"
    assert JobSpec.model_validate_json(s3_store.read_uri(uri)) == spec()

    assert s3_store.load_result("job-1") is None
    result = JobResult(
        job_id="job-1",
        status="failed",
        error=ErrorInfo(code="not_a_table", message="Not a table.", hint="Share a CSV."),
        artifacts=Artifacts(report="report.html"),
    )
    assert s3_store.save_result(result) == f"s3://{BUCKET}/runs/job-1/result.json"
    assert s3_store.load_result("job-1") == result
    head = s3_client.head_object(Bucket=BUCKET, Key="runs/job-1/result.json")
    assert head["ContentType"] == "application/json"


def test_every_put_asks_for_encryption(s3_store: S3ArtifactStore, s3_client: Any) -> None:
    s3_store.save_spec(spec())
    s3_store.save_result(JobResult(job_id="job-1", status="succeeded"))
    s3_store.save_dataset("job-1", "small.csv", [b"a,b\n1,2\n"], MIB)
    s3_store.save_dataset("job-1", "big.csv", [b"x" * MIB] * 12, 20 * MIB)
    for key in keys(s3_client):
        assert s3_client.head_object(Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "AES256"


def test_read_bytes(s3_store: S3ArtifactStore, s3_client: Any) -> None:
    s3_client.put_object(Bucket=BUCKET, Key="runs/job-1/charts/roc.png", Body=b"\x89PNG")
    assert s3_store.read_bytes("job-1", "charts/roc.png") == b"\x89PNG"
    with pytest.raises(ArtifactNotFound):
        s3_store.read_bytes("job-1", "charts/missing.png")
    with pytest.raises(ArtifactNotFound):
        s3_store.size_of(f"s3://{BUCKET}/datasets/job-1/missing.csv")


def test_small_dataset_is_one_put(s3_client: Any) -> None:
    spy = Spy(s3_client)
    store = S3ArtifactStore(BUCKET, s3_client=spy)
    uri = store.save_dataset("job-1", "churn <Q3>.csv", iter([b"a,b\n", b"1,2\n"]), 8)
    assert uri == f"s3://{BUCKET}/datasets/job-1/churn_Q3_.csv"
    assert store.read_uri(uri) == b"a,b\n1,2\n"
    assert store.size_of(uri) == 8
    assert "create_multipart_upload" not in spy.names()
    assert store.save_dataset("job-1", "empty.csv", [], 0).endswith("/empty.csv")


def test_large_dataset_streams_in_parts(s3_client: Any) -> None:
    """12 MiB in 256 KiB chunks: parts of 5 MiB go out while the stream is still read."""
    spy = Spy(s3_client)
    store = S3ArtifactStore(BUCKET, s3_client=spy, part_size=MIN_PART_SIZE)
    consumed = 0
    consumed_at_part: list[int] = []
    spy.on_call = lambda name, _: (
        consumed_at_part.append(consumed) if name == "upload_part" else None
    )

    def chunks() -> Iterator[bytes]:
        nonlocal consumed
        for i in range(48):
            consumed += 1
            yield bytes([i]) * (256 * 1024)

    uri = store.save_dataset("job-1", "big.csv", chunks(), 20 * MIB)

    parts = [kwargs for name, kwargs in spy.calls if name == "upload_part"]
    assert [len(p["Body"]) for p in parts] == [5 * MIB, 5 * MIB, 2 * MIB]
    assert [p["PartNumber"] for p in parts] == [1, 2, 3]
    assert consumed_at_part == [20, 40, 48]  # each part left as soon as it was full
    assert spy.names().count("create_multipart_upload") == 1
    assert "put_object" not in spy.names()
    expected = b"".join(bytes([i]) * (256 * 1024) for i in range(48))
    assert store.read_uri(uri) == expected
    head = s3_client.head_object(Bucket=BUCKET, Key="datasets/job-1/big.csv")
    assert head["ContentLength"] == 12 * MIB
    assert head["ETag"].strip('"').endswith("-3")  # S3's mark of a three-part upload
    assert open_uploads(s3_client) == []


def test_too_large_aborts_and_leaves_nothing(s3_client: Any) -> None:
    spy = Spy(s3_client)
    store = S3ArtifactStore(BUCKET, s3_client=spy, part_size=MIN_PART_SIZE)
    consumed: list[int] = []

    def chunks() -> Iterator[bytes]:
        for i in range(100):
            consumed.append(i)
            yield b"x" * MIB

    with pytest.raises(TooLarge) as info:
        store.save_dataset("job-1", "huge.csv", chunks(), max_bytes=7 * MIB)
    assert isinstance(info.value, FileTooLarge)
    assert info.value.max_bytes == 7 * MIB
    assert "limit of 7 MB" in info.value.message
    assert consumed == list(range(8))  # stopped reading at the first chunk past the limit
    assert "abort_multipart_upload" in spy.names()
    assert "complete_multipart_upload" not in spy.names()
    assert keys(s3_client) == []
    assert open_uploads(s3_client) == []


def test_too_large_keeps_an_existing_object(s3_store: S3ArtifactStore, s3_client: Any) -> None:
    s3_store.save_dataset("job-1", "a.csv", [b"ok"], 10)
    with pytest.raises(TooLarge):
        s3_store.save_dataset("job-1", "a.csv", [b"x" * 11], 10)
    assert s3_store.read_uri(f"s3://{BUCKET}/datasets/job-1/a.csv") == b"ok"
    assert s3_store.save_dataset("job-1", "b.csv", [b"12345", b"", b"67890"], 10)


def test_failing_stream_aborts_and_leaves_nothing(s3_client: Any) -> None:
    store = S3ArtifactStore(BUCKET, s3_client=s3_client, part_size=MIN_PART_SIZE)

    def chunks() -> Iterator[bytes]:
        yield b"x" * (6 * MIB)
        raise ConnectionError("download broke")

    with pytest.raises(ConnectionError):
        store.save_dataset("job-1", "a.csv", chunks(), 100 * MIB)
    assert keys(s3_client) == []
    assert open_uploads(s3_client) == []


def test_limits_are_checked(s3_client: Any) -> None:
    store = S3ArtifactStore(BUCKET, s3_client=s3_client)
    with pytest.raises(ValueError, match="max_bytes"):
        store.save_dataset("job-1", "a.csv", [b""], -1)
    with pytest.raises(ValueError, match="part_size"):
        S3ArtifactStore(BUCKET, s3_client=s3_client, part_size=MIB)
    with pytest.raises(ValueError, match="link_expiry_s"):
        S3ArtifactStore(BUCKET, s3_client=s3_client, link_expiry_s=7 * 24 * 3600 + 1)


def test_discard_dataset(s3_store: S3ArtifactStore, s3_client: Any) -> None:
    s3_store.save_dataset("preview-F1-C1", "a.csv", [b"a"], 10)
    s3_store.save_dataset("job-2", "b.csv", [b"b"], 10)
    s3_store.discard_dataset("preview-F1-C1")
    assert keys(s3_client) == ["datasets/job-2/b.csv"]
    s3_store.discard_dataset("preview-F1-C1")  # missing is fine


def test_links_are_the_bots_own(s3_store: S3ArtifactStore) -> None:
    """`<public_url>/artifacts/<job>/<path>?expires&sig`: no AWS credential in it to expire."""
    link = s3_store.link("job-1", "report.html")
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC_URL
    assert parts.path == "/artifacts/job-1/report.html"
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert set(query) == {"expires", "sig"}
    assert 3590 <= int(query["expires"]) - time.time() <= 3600
    LinkSigner(LINK_KEY).verify("job-1", "report.html", query["expires"], query["sig"])
    with pytest.raises(RuntimeError, match="without a link signer"):
        S3ArtifactStore(BUCKET, s3_client=s3_store.s3).link("job-1", "report.html")


def test_a_small_report_or_chart_is_delivered_as_it_is(
    s3_store: S3ArtifactStore, s3_client: Any
) -> None:
    s3_client.put_object(Bucket=BUCKET, Key="runs/job-1/report.html", Body=b"<html>r</html>")
    s3_client.put_object(Bucket=BUCKET, Key="runs/job-1/charts/roc.png", Body=b"png")
    assert s3_store.deliver("job-1", "report.html") == InlineContent(
        "report.html", b"<html>r</html>"
    )
    assert s3_store.deliver("job-1", "charts/roc.png") == InlineContent("roc.png", b"png")


def download_of(delivery: object) -> dict[str, str]:
    """The query of the presigned GET a `RedirectTo` sends the browser to."""
    assert isinstance(delivery, RedirectTo), delivery
    parts = urlsplit(delivery.url)
    assert parts.hostname is not None and parts.hostname.startswith(BUCKET)
    return {name: values[0] for name, values in parse_qs(parts.query).items()}


def test_a_large_report_and_the_model_are_fresh_downloads(
    s3_client: Any, s3_store: S3ArtifactStore
) -> None:
    store = S3ArtifactStore(BUCKET, s3_client=s3_client, inline_max_bytes=10)
    s3_client.put_object(Bucket=BUCKET, Key="runs/job-1/report.html", Body=b"<html>big</html>")
    s3_client.put_object(Bucket=BUCKET, Key="runs/job-1/model.joblib", Body=b"model")
    report = download_of(store.deliver("job-1", "report.html"))
    # Never a page of the bucket's origin: S3 sends no Content-Security-Policy.
    assert report["response-content-type"] == "application/octet-stream"
    assert report["response-content-disposition"] == 'attachment; filename="report.html"'
    assert report["X-Amz-Expires"] == str(DOWNLOAD_EXPIRY_S)  # made now, short-lived
    model = download_of(s3_store.deliver("job-1", "model.joblib"))  # any size
    assert model["response-content-disposition"] == 'attachment; filename="model.joblib"'
    assert model["X-Amz-Expires"] == str(DOWNLOAD_EXPIRY_S)


def test_delivering_what_is_not_there(s3_store: S3ArtifactStore) -> None:
    for path in ("report.html", "model.joblib"):
        with pytest.raises(ArtifactNotFound):
            s3_store.deliver("job-1", path)
    with pytest.raises(UnsafeArtifactPath):
        s3_store.deliver("job-1", "../job-2/model.joblib")


def test_the_inline_limit_fits_lambdas_response() -> None:
    """Base64 of the largest inline file, with 64 KiB for headers, within Lambda's 6 MB."""
    assert INLINE_MAX_BYTES > 4 * MIB
    assert len(base64.b64encode(bytes(INLINE_MAX_BYTES))) + 64 * 1024 <= 6_000_000


@pytest.fixture
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_a_download_opens_the_file(moto_server: str) -> None:
    """Through moto's HTTP server: a browser sent to the download gets the file, as a file."""
    s3 = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=moto_server,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    s3.create_bucket(Bucket=BUCKET)
    store = S3ArtifactStore(BUCKET, s3_client=s3, inline_max_bytes=10)
    s3.put_object(Bucket=BUCKET, Key="runs/job-1/report.html", Body=b"<html>report</html>")
    s3.put_object(Bucket=BUCKET, Key="runs/job-1/model.joblib", Body=b"model bytes")

    def url(path: str) -> str:
        delivery = store.deliver("job-1", path)
        assert isinstance(delivery, RedirectTo)
        return delivery.url

    with urllib.request.urlopen(url("report.html"), timeout=10) as response:
        assert response.read() == b"<html>report</html>"
        assert response.headers["Content-Disposition"] == 'attachment; filename="report.html"'
        assert response.headers["Content-Type"] == "application/octet-stream"
    with urllib.request.urlopen(url("model.joblib"), timeout=10) as response:
        assert response.read() == b"model bytes"
        assert response.headers["Content-Disposition"] == 'attachment; filename="model.joblib"'
