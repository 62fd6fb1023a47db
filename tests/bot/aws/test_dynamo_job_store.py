"""What is particular to `DynamoJobStore`: the items it writes, TTL, retries, paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from bot.backends.aws import job_store as job_store_module
from bot.backends.aws.job_store import DynamoJobStore
from bot.backends.aws.table import TABLE_SCHEMA, TTL_ATTRIBUTE, create_table_kwargs
from tests.builders import make_job

from .conftest import REGION, TABLE

CREATED = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def item(client: Any, pk: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get_item(TableName=TABLE, Key={"pk": {"S": pk}})["Item"]
    return found


def test_the_table_moto_made_has_the_schema(dynamodb_client: Any) -> None:
    table = dynamodb_client.describe_table(TableName=TABLE)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    indexes = {
        index["IndexName"]: [key["AttributeName"] for key in index["KeySchema"]]
        for index in table["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        "by_channel": ["channel_id", "created_at"],
        "by_user": ["user_id", "created_at"],
        "by_status": ["status", "created_at"],
    }
    assert TABLE_SCHEMA["ttl_attribute"] == TTL_ATTRIBUTE == "expires_at"
    assert TABLE_SCHEMA["sort_key"] is None
    kwargs = create_table_kwargs("x")
    assert {a["AttributeName"] for a in kwargs["AttributeDefinitions"]} == {
        "pk",
        "channel_id",
        "user_id",
        "status",
        "created_at",
    }


def test_items_carry_a_ttl(dynamodb_client: Any) -> None:
    now = CREATED + timedelta(hours=1)
    store = DynamoJobStore(TABLE, client=dynamodb_client, ttl_days=7, clock=lambda: now)
    store.create(make_job(job_id="j1", dedupe_key="Ev1", created_at=CREATED))
    store.claim("preview:C1:F1")

    expected_job = int((CREATED + timedelta(days=7)).timestamp())
    job_item = item(dynamodb_client, "job#j1")
    assert job_item[TTL_ATTRIBUTE] == {"N": str(expected_job)}
    assert item(dynamodb_client, "dedupe#Ev1")[TTL_ATTRIBUTE] == {"N": str(expected_job)}
    expected_claim = int((now + timedelta(days=7)).timestamp())
    assert item(dynamodb_client, "claim#preview:C1:F1")[TTL_ATTRIBUTE] == {"N": str(expected_claim)}
    # A status change keeps the job's expiry: the run's files expire on the same day.
    assert store.transition("j1", "running")
    assert item(dynamodb_client, "job#j1")[TTL_ATTRIBUTE] == {"N": str(expected_job)}


def test_job_items(dynamodb_client: Any) -> None:
    store = DynamoJobStore(TABLE, client=dynamodb_client)
    store.create(make_job(job_id="j1", created_at=CREATED, thread_ts=None))
    stored = item(dynamodb_client, "job#j1")
    assert stored["kind"] == {"S": "job"}
    assert stored["created_at"] == {"S": "2026-03-01T12:00:00.123456+00:00"}
    assert stored["time_budget_s"] == {"N": "30"}
    assert stored["exclude_columns"] == {"L": [{"S": "customer_id"}]}
    assert stored["keep_columns"] == {"L": [{"S": "store_id"}, {"S": "refund amount"}]}
    assert "thread_ts" not in stored and "dedupe_key" not in stored  # no empty attributes
    assert item(dynamodb_client, "job#j1")["status"] == {"S": "queued"}


def test_an_item_from_before_keep_columns_reads_as_none_kept(dynamodb_client: Any) -> None:
    store = DynamoJobStore(TABLE, client=dynamodb_client)
    old_item = store._job_item(make_job(job_id="old1", created_at=CREATED))
    del old_item["keep_columns"]
    dynamodb_client.put_item(TableName=TABLE, Item=old_item)
    job = store.get("old1")
    assert job is not None
    assert job.keep_columns == () and job.exclude_columns == ("customer_id",)


def test_created_at_sorts_as_text_across_time_zones(dynamodb_client: Any) -> None:
    store = DynamoJobStore(TABLE, client=dynamodb_client)
    later_elsewhere = (CREATED + timedelta(minutes=1)).astimezone(timezone(timedelta(hours=-5)))
    store.create(make_job(job_id="late", created_at=later_elsewhere))
    store.create(make_job(job_id="early", created_at=CREATED))
    assert [j.job_id for j in store.list_by_status("queued")] == ["early", "late"]
    assert [j.job_id for j in store.list_for_channel("C1")] == ["late", "early"]


def _stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("dynamodb", region_name=REGION)
    return client, Stubber(client)


def _job_item(job_id: str) -> dict[str, Any]:
    return job_store_module.DynamoJobStore(TABLE, client=None)._job_item(
        make_job(job_id=job_id, created_at=CREATED)
    )


def test_a_conflicting_transaction_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two containers create the same job at once: DynamoDB cancels one with a conflict."""
    monkeypatch.setattr(job_store_module.time, "sleep", lambda _: None)
    client, stub = _stubbed()
    conflict = [{"Code": "None"}, {"Code": "TransactionConflict", "Message": "busy"}]
    taken = [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Message": "exists"}]
    for reasons in (conflict, taken):
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            modeled_fields={"CancellationReasons": reasons},
        )
    stub.add_response(
        "get_item",
        {"Item": {"pk": {"S": "dedupe#Ev1"}, "job_id": {"S": "winner"}}},
        {"TableName": TABLE, "Key": {"pk": {"S": "dedupe#Ev1"}}, "ConsistentRead": True},
    )
    stub.add_response(
        "get_item",
        {"Item": _job_item("winner")},
        {"TableName": TABLE, "Key": {"pk": {"S": "job#winner"}}, "ConsistentRead": True},
    )
    with stub:
        got, created = DynamoJobStore(TABLE, client=client).create(
            make_job(job_id="loser", dedupe_key="Ev1")
        )
    stub.assert_no_pending_responses()
    assert (got.job_id, created) == ("winner", False)


def test_other_cancellations_are_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_store_module.time, "sleep", lambda _: None)
    client, stub = _stubbed()
    stub.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        modeled_fields={"CancellationReasons": [{"Code": "ValidationError"}, {"Code": "None"}]},
    )
    with stub, pytest.raises(client.exceptions.TransactionCanceledException):
        DynamoJobStore(TABLE, client=client).create(make_job(dedupe_key="Ev1"))


def test_lists_follow_every_page() -> None:
    client, stub = _stubbed()
    page_key = {"pk": {"S": "job#a"}, "status": {"S": "queued"}, "created_at": {"S": "x"}}
    stub.add_response("query", {"Items": [_job_item("a")], "LastEvaluatedKey": page_key})
    stub.add_response(
        "query",
        {"Items": [_job_item("b")]},
        {
            "TableName": TABLE,
            "IndexName": "by_status",
            "KeyConditionExpression": ANY,
            "ExpressionAttributeNames": ANY,
            "ExpressionAttributeValues": ANY,
            "ScanIndexForward": True,
            "ExclusiveStartKey": page_key,
        },
    )
    with stub:
        jobs = DynamoJobStore(TABLE, client=client).list_by_status("queued")
    assert [job.job_id for job in jobs] == ["a", "b"]


def test_arguments_are_checked(dynamodb_client: Any) -> None:
    with pytest.raises(ValueError, match="table_name"):
        DynamoJobStore("", client=dynamodb_client)
    with pytest.raises(ValueError, match="ttl_days"):
        DynamoJobStore(TABLE, client=dynamodb_client, ttl_days=0)
    with pytest.raises(ValueError, match="limit"):
        DynamoJobStore(TABLE, client=dynamodb_client).list_for_user("U1", limit=-1)
