"""`DynamoJobStore`: the aws backend's job store, one DynamoDB table with conditional writes.

One table, partition key `pk` only, three kinds of item:

    job#<job_id>      a job: every `Job` field, plus `kind`, `expires_at`
    dedupe#<key>      {job_id}: the job a Slack event / trigger id created
    claim#<key>       one-off work already claimed (`JobStore.claim`)
    active#<user_id>  {active}: how many of the person's jobs are queued or running
    columns#<file_id> {columns}: the column names a file's preview found

- `create` also adds 1 to the owner's `active#` counter, on condition it is below the
  limit, in the same transaction; a job's ending subtracts 1 in the transaction that ends
  it (jobs created before the counter existed carry no `holds_slot` and are not counted).

- `create` writes the job and its dedupe item in one transaction, each with
  `attribute_not_exists(pk)`: of concurrent creates with one dedupe key exactly one commits;
  the others learn the winner's job id from the cancelled transaction.
- A status change is one conditional UpdateItem (`status IN (allowed predecessors)`), so two
  writers moving the same job cannot both succeed.
- Lists read three sparse GSIs (only job items carry their keys), sorted by `created_at`
  (fixed-width UTC ISO text, so text order is time order). GSIs are eventually consistent:
  a job written a moment ago may be missing from a list or a count for that moment.
- Every item carries `expires_at` (epoch seconds): the table's TTL deletes it after
  `ttl_days`, as the bucket's lifecycle rule deletes the run.

The table's keys and indexes are described once, in `bot.backends.aws.table`.
Standard library and botocore's exceptions only.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from botocore.exceptions import ClientError

from bot.backends.aws.table import (
    BY_CHANNEL,
    BY_STATUS,
    BY_USER,
    PARTITION_KEY,
    TTL_ATTRIBUTE,
)
from bot.backends.local.job_store import DuplicateJobId
from bot.jobs import (
    ACTIVE,
    TERMINAL,
    ActiveLimitReached,
    Job,
    Status,
    check_statuses,
    utc_now,
)
from bot.lifecycle import transition_sources

log = logging.getLogger(__name__)

DEFAULT_TTL_DAYS: Final = 30
_CONFLICT_RETRIES: Final = 6  # concurrent transactions on one item: all but one are cancelled
_CONFLICT: Final = "TransactionConflict"
_HOLDS_SLOT: Final = "holds_slot"  # on job items counted in their owner's `active#` item
_MAX_COLUMNS_JSON: Final = 300_000  # an item holds at most 400 KB
# `Job.kind` (train or predict); the attribute `kind` already says what an item is.
_JOB_KIND: Final = "job_kind"

_OPTIONAL_TEXT: Final = (
    "thread_ts",
    "file_id",
    "status_ts",
    "result_path",
    "error_code",
    "error_message",
    "dedupe_key",
    "model_job_id",
    "team_id",  # the Slack workspace: uninstalling the app deletes its jobs
    "share_to",  # "channel": `share=channel`
)
_REQUIRED_TEXT: Final = ("job_id", "user_id", "channel_id", "file_name", "target", "task", "metric")


class DynamoJobStore:
    """The `bot.jobs.JobStore` port on DynamoDB. Thread-safe (boto3 clients are)."""

    def __init__(
        self,
        table_name: str,
        *,
        client: Any,
        ttl_days: int = DEFAULT_TTL_DAYS,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if not table_name:
            raise ValueError("table_name is empty")
        if ttl_days < 1:
            raise ValueError("ttl_days must be at least 1")
        self.table = table_name
        self.client = client
        self.ttl = timedelta(days=ttl_days)
        self._clock = clock

    # ---- the port ------------------------------------------------------------------------

    def create(self, job: Job, *, max_active: int | None = None) -> tuple[Job, bool]:
        item = self._job_item(job)
        writes = [_conditional_put(self.table, item)]
        if job.dedupe_key is not None:
            dedupe = {
                PARTITION_KEY: _s(_dedupe_pk(job.dedupe_key)),
                "kind": _s("dedupe"),
                "job_id": _s(job.job_id),
                TTL_ATTRIBUTE: item[TTL_ATTRIBUTE],
            }
            writes.append(_conditional_put(self.table, dedupe))
        if job.active:  # counted in its owner's `active#` item until it ends
            item[_HOLDS_SLOT] = {"BOOL": True}
            writes.append(self._take_slot(job.user_id, max_active))
        for attempt in range(_CONFLICT_RETRIES):
            try:
                self.client.transact_write_items(TransactItems=writes)
                return job, True
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = _reasons(exc, len(writes))
                job_reason = reasons[0]
                dedupe_reason = reasons[1] if job.dedupe_key is not None else None
                slot_reason = reasons[-1] if job.active else None
                if dedupe_reason == "ConditionalCheckFailed":
                    assert job.dedupe_key is not None
                    existing = self.get_by_dedupe_key(job.dedupe_key)
                    if existing is None:  # pragma: no cover - both items are written together
                        raise RuntimeError(
                            f"dedupe key {job.dedupe_key!r} exists but has no job"
                        ) from exc
                    return existing, False
                if job_reason == "ConditionalCheckFailed":
                    raise DuplicateJobId(f"job id {job.job_id!r} exists already") from None
                if slot_reason == "ConditionalCheckFailed":
                    raise ActiveLimitReached(job.user_id) from None
                if _CONFLICT not in reasons:
                    raise
            # Another transaction held one of the items (a concurrent retry): try again; by
            # then it has committed and the dedupe item answers.
            log.info("creating job %s conflicted with another write; retrying", job.job_id)
            time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))
        raise RuntimeError(f"could not create job {job.job_id}: transactions kept conflicting")

    def get(self, job_id: str) -> Job | None:
        item = self._get_item(_job_pk(job_id))
        return _from_item(item) if item is not None else None

    def get_by_dedupe_key(self, dedupe_key: str) -> Job | None:
        item = self._get_item(_dedupe_pk(dedupe_key))
        return self.get(item["job_id"]["S"]) if item is not None else None

    def list_for_channel(self, channel_id: str, limit: int = 20) -> list[Job]:
        return self._query(BY_CHANNEL, "channel_id", channel_id, newest_first=True, limit=limit)

    def list_for_user(self, user_id: str, limit: int = 20) -> list[Job]:
        return self._query(BY_USER, "user_id", user_id, newest_first=True, limit=limit)

    def list_by_status(self, *statuses: Status) -> list[Job]:
        check_statuses(statuses)
        jobs: list[Job] = []
        for status in dict.fromkeys(statuses):
            jobs.extend(self._query(BY_STATUS, "status", status, newest_first=False))
        return sorted(jobs, key=lambda job: job.created_at)  # stable: merges the statuses

    def count_active(self, user_id: str | None = None) -> int:
        total = 0
        for status in sorted(ACTIVE):
            kwargs = self._key_condition(BY_STATUS, "status", status)
            kwargs["Select"] = "COUNT"
            if user_id is not None:
                kwargs["FilterExpression"] = "#user = :user"
                kwargs["ExpressionAttributeNames"]["#user"] = "user_id"
                kwargs["ExpressionAttributeValues"][":user"] = _s(user_id)
            for page in self.client.get_paginator("query").paginate(**kwargs):
                total += int(page["Count"])
        return total

    def transition(self, job_id: str, new_status: Status, **fields: Any) -> bool:
        allowed_from = transition_sources(new_status, fields)
        if not allowed_from:
            return False
        frees: str | None = None  # the owner whose slot an ending frees
        if new_status in TERMINAL:
            held = self._get_item(_job_pk(job_id))
            if held is None:
                return False
            if _HOLDS_SLOT in held:
                frees = held["user_id"]["S"]
        names = {"#status": "status", "#updated": "updated_at"}
        values: dict[str, Any] = {":new": _s(new_status), ":now": _s(_iso(self._clock()))}
        sets = ["#status = :new", "#updated = :now"]
        removes = []
        for index, name in enumerate(sorted(fields)):
            names[f"#f{index}"] = name
            if fields[name] is None:  # NULL in SQLite; no attribute here
                removes.append(f"#f{index}")
            else:
                values[f":f{index}"] = _s(str(fields[name]))
                sets.append(f"#f{index} = :f{index}")
        marks = []
        for index, status in enumerate(allowed_from):
            values[f":from{index}"] = _s(status)
            marks.append(f":from{index}")
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        update = {
            "UpdateExpression": expression,
            "ConditionExpression": f"attribute_exists(pk) AND #status IN ({', '.join(marks)})",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if frees is None:
            return self._update(job_id, **update)
        return self._end_and_free(job_id, frees, update)

    def forget_workspace(self, team_id: str) -> list[str]:
        """Delete the workspace's jobs (and those recorded before jobs carried a team id: a
        bot serves one workspace) with every claim, lease, dedupe, column and slot item (they
        name no workspace). A scan: this happens once, when the app is uninstalled. Returns
        the ids of the jobs deleted; cancel the active ones first."""
        gone: list[str] = []
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(TableName=self.table, ConsistentRead=True):
            for item in page.get("Items", []):
                if item.get("kind", {}).get("S") == "job":
                    team = item.get("team_id", {}).get("S")
                    if team is not None and team != team_id:
                        continue  # another workspace's job
                    gone.append(item["job_id"]["S"])
                self.client.delete_item(
                    TableName=self.table, Key={PARTITION_KEY: item[PARTITION_KEY]}
                )
        return gone

    def release(self, key: str) -> None:
        self.client.delete_item(TableName=self.table, Key={PARTITION_KEY: _s(f"claim#{key}")})

    def take_lease(self, key: str, seconds: float) -> bool:
        now = self._clock()
        until = now + timedelta(seconds=seconds)
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    PARTITION_KEY: _s(f"lease#{key}"),
                    "kind": _s("lease"),
                    "until": _n(until.timestamp()),
                    # DynamoDB's TTL deletes within days, not seconds: `until` decides.
                    TTL_ATTRIBUTE: _n(int(until.timestamp()) + 3600),
                },
                ConditionExpression="attribute_not_exists(pk) OR #until <= :now",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={":now": _n(now.timestamp())},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def end_lease(self, key: str) -> None:
        self.client.delete_item(TableName=self.table, Key={PARTITION_KEY: _s(f"lease#{key}")})

    def remember_columns(self, file_id: str, columns: list[str]) -> None:
        if len(json.dumps(columns)) > _MAX_COLUMNS_JSON:
            return  # past an item's size: such a file is checked by the job, as before
        now = self._clock()
        self.client.put_item(
            TableName=self.table,
            Item={
                PARTITION_KEY: _s(f"columns#{file_id}"),
                "kind": _s("columns"),
                "columns": _s(json.dumps(columns)),
                TTL_ATTRIBUTE: _n(self._expires_at(now)),
            },
        )

    def columns_of(self, file_id: str) -> list[str] | None:
        item = self._get_item(f"columns#{file_id}")
        return list(json.loads(item["columns"]["S"])) if item is not None else None

    def set_status_message(self, job_id: str, status_ts: str) -> bool:
        return self._update(
            job_id,
            UpdateExpression="SET #ts = :ts, #updated = :now",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#ts": "status_ts", "#updated": "updated_at"},
            ExpressionAttributeValues={":ts": _s(status_ts), ":now": _s(_iso(self._clock()))},
        )

    def claim(self, key: str) -> bool:
        now = self._clock()
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    PARTITION_KEY: _s(f"claim#{key}"),
                    "kind": _s("claim"),
                    "created_at": _s(_iso(now)),
                    TTL_ATTRIBUTE: _n(self._expires_at(now)),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # ---- helpers -------------------------------------------------------------------------

    def _take_slot(self, user_id: str, max_active: int | None) -> dict[str, Any]:
        """The transaction's increment of the owner's active-job counter, within the limit."""
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": {PARTITION_KEY: _s(_slots_pk(user_id))},
            # Refreshed at each job, so the counter outlives every job it counts.
            "UpdateExpression": "ADD #active :one SET #kind = :kind, #ttl = :ttl",
            "ExpressionAttributeNames": {
                "#active": "active",
                "#kind": "kind",
                "#ttl": TTL_ATTRIBUTE,
            },
            "ExpressionAttributeValues": {
                ":one": _n(1),
                ":kind": _s("slots"),
                ":ttl": _n(self._expires_at(self._clock() + timedelta(days=1))),
            },
        }
        if max_active is not None:
            update["ConditionExpression"] = "attribute_not_exists(#active) OR #active < :limit"
            update["ExpressionAttributeValues"][":limit"] = _n(max_active)
        return {"Update": update}

    def _end_and_free(self, job_id: str, user_id: str, update: dict[str, Any]) -> bool:
        """The ending and the owner's counter decrement, in one transaction."""
        writes = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": {PARTITION_KEY: _s(_job_pk(job_id))},
                    **update,
                }
            },
            {
                "Update": {
                    "TableName": self.table,
                    "Key": {PARTITION_KEY: _s(_slots_pk(user_id))},
                    "UpdateExpression": "ADD #active :minus",
                    "ExpressionAttributeNames": {"#active": "active"},
                    "ExpressionAttributeValues": {":minus": _n(-1)},
                }
            },
        ]
        for attempt in range(_CONFLICT_RETRIES):
            try:
                self.client.transact_write_items(TransactItems=writes)
                return True
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = _reasons(exc, 2)
                if reasons[0] == "ConditionalCheckFailed":
                    return False
                if _CONFLICT not in reasons:
                    raise
            log.info("ending job %s conflicted with another write; retrying", job_id)
            time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))
        raise RuntimeError(f"could not end job {job_id}: transactions kept conflicting")

    def _expires_at(self, moment: datetime) -> int:
        return int((moment + self.ttl).timestamp())

    def _job_item(self, job: Job) -> dict[str, Any]:
        item: dict[str, Any] = {
            PARTITION_KEY: _s(_job_pk(job.job_id)),
            "kind": _s("job"),
            "status": _s(job.status),
            "time_budget_s": _n(job.time_budget_s),
            "exclude_columns": {"L": [_s(column) for column in job.exclude_columns]},
            "keep_columns": {"L": [_s(column) for column in job.keep_columns]},
            _JOB_KIND: _s(job.kind),
            "created_at": _s(_iso(job.created_at)),
            "updated_at": _s(_iso(job.updated_at)),
            TTL_ATTRIBUTE: _n(self._expires_at(job.created_at)),
        }
        for name in _REQUIRED_TEXT:
            item[name] = _s(getattr(job, name))
        for name in _OPTIONAL_TEXT:
            value = getattr(job, name)
            if value is not None:  # a GSI key or not, DynamoDB stores no empty attribute
                item[name] = _s(value)
        return item

    def _get_item(self, pk: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table, Key={PARTITION_KEY: _s(pk)}, ConsistentRead=True
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _key_condition(self, index: str, attribute: str, value: str) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": "#key = :key",
            "ExpressionAttributeNames": {"#key": attribute},
            "ExpressionAttributeValues": {":key": _s(value)},
        }

    def _query(
        self,
        index: str,
        attribute: str,
        value: str,
        *,
        newest_first: bool,
        limit: int | None = None,
    ) -> list[Job]:
        """Jobs from one GSI partition in `created_at` order; all of them if `limit` is None."""
        if limit is not None and limit < 0:
            raise ValueError("limit must not be negative")
        kwargs = self._key_condition(index, attribute, value)
        kwargs["ScanIndexForward"] = not newest_first
        jobs: list[Job] = []
        while limit is None or len(jobs) < limit:
            if limit is not None:
                kwargs["Limit"] = limit - len(jobs)
            page = self.client.query(**kwargs)
            jobs.extend(_from_item(item) for item in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                break
            kwargs["ExclusiveStartKey"] = start
        return jobs

    def _update(self, job_id: str, **kwargs: Any) -> bool:
        try:
            self.client.update_item(
                TableName=self.table, Key={PARTITION_KEY: _s(_job_pk(job_id))}, **kwargs
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True


# ---- items ------------------------------------------------------------------------------------


def _job_pk(job_id: str) -> str:
    return f"job#{job_id}"


def _dedupe_pk(dedupe_key: str) -> str:
    return f"dedupe#{dedupe_key}"


def _slots_pk(user_id: str) -> str:
    return f"active#{user_id}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": str(value)}


def _conditional_put(table: str, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def _reasons(error: ClientError, count: int) -> list[str]:
    """The cancellation reason code of each item of a cancelled transaction."""
    reasons = error.response.get("CancellationReasons") or []
    codes = [str(reason.get("Code") or "None") for reason in reasons]
    return (codes + ["Unknown"] * count)[:count]


def _iso(moment: datetime) -> str:
    # Fixed width, UTC: sorts as text in time order (the GSIs' sort key).
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _from_item(item: dict[str, Any]) -> Job:
    values: dict[str, Any] = {name: item[name]["S"] for name in _REQUIRED_TEXT}
    for name in _OPTIONAL_TEXT:
        values[name] = item[name]["S"] if name in item else None
    values["status"] = item["status"]["S"]
    values["time_budget_s"] = int(item["time_budget_s"]["N"])
    values["exclude_columns"] = tuple(value["S"] for value in item["exclude_columns"]["L"])
    # Items written before keep_columns existed have no such attribute.
    values["keep_columns"] = tuple(
        value["S"] for value in item.get("keep_columns", {}).get("L", [])
    )
    # Items written before prediction jobs existed are training jobs.
    values["kind"] = item.get(_JOB_KIND, {}).get("S", "train")
    values["created_at"] = datetime.fromisoformat(item["created_at"]["S"])
    values["updated_at"] = datetime.fromisoformat(item["updated_at"]["S"])
    return Job(**values)
