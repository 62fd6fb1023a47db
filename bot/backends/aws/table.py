"""The DynamoDB job table's keys, indexes and TTL: described once, as plain data.

`DynamoJobStore` reads and writes by these names; the CDK stack creates the table from
`TABLE_SCHEMA` (or mirrors it), and the tests create theirs with `create_table_kwargs`.

- `pk` (string) is the only key: `job#<job_id>`, `dedupe#<key>` or `claim#<key>`.
- Three GSIs, each on attributes that only job items carry (sparse), sorted by `created_at`,
  fixed-width UTC ISO-8601 text, so text order is time order; projection ALL, so a list
  needs no second read.
- `expires_at` (a Number, epoch seconds) on every item is the table's TTL attribute.

Standard library only: importable by the CDK app without boto3.
"""

from __future__ import annotations

from typing import Any, Final

PARTITION_KEY: Final = "pk"
TTL_ATTRIBUTE: Final = "expires_at"
BY_CHANNEL: Final = "by_channel"
BY_USER: Final = "by_user"
BY_STATUS: Final = "by_status"

# Plain data: `infra/` mirrors it with CDK constructs, `create_table_kwargs` with boto3.
TABLE_SCHEMA: Final[dict[str, Any]] = {
    "partition_key": {"name": PARTITION_KEY, "type": "S"},
    "sort_key": None,
    "ttl_attribute": TTL_ATTRIBUTE,
    "billing_mode": "PAY_PER_REQUEST",
    "global_secondary_indexes": [
        {
            "index_name": BY_CHANNEL,
            "partition_key": {"name": "channel_id", "type": "S"},
            "sort_key": {"name": "created_at", "type": "S"},
            "projection": "ALL",
        },
        {
            "index_name": BY_USER,
            "partition_key": {"name": "user_id", "type": "S"},
            "sort_key": {"name": "created_at", "type": "S"},
            "projection": "ALL",
        },
        {
            "index_name": BY_STATUS,
            "partition_key": {"name": "status", "type": "S"},
            "sort_key": {"name": "created_at", "type": "S"},
            "projection": "ALL",
        },
    ],
}


def create_table_kwargs(table_name: str) -> dict[str, Any]:
    """`CreateTable` arguments for `TABLE_SCHEMA` (tests and hand-made tables)."""
    schema = TABLE_SCHEMA
    attributes = {schema["partition_key"]["name"]: schema["partition_key"]["type"]}
    indexes = []
    for index in schema["global_secondary_indexes"]:
        for part in ("partition_key", "sort_key"):
            attributes[index[part]["name"]] = index[part]["type"]
        indexes.append(
            {
                "IndexName": index["index_name"],
                "KeySchema": [
                    {"AttributeName": index["partition_key"]["name"], "KeyType": "HASH"},
                    {"AttributeName": index["sort_key"]["name"], "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": index["projection"]},
            }
        )
    return {
        "TableName": table_name,
        "BillingMode": schema["billing_mode"],
        "KeySchema": [{"AttributeName": schema["partition_key"]["name"], "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind} for name, kind in attributes.items()
        ],
        "GlobalSecondaryIndexes": indexes,
    }
