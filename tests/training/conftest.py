"""Fake AWS for the training job's S3 and EventBridge side: moto's server on loopback.

The job runs as a real process (`python -m training run s3://…`), so it cannot share an
in-process `mock_aws`; it reaches the server through `AWS_ENDPOINT_URL`, as boto3 allows.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass
class FakeAws:
    url: str

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def env(self, **extra: str) -> dict[str, str]:
        """This process's environment, with every AWS setting pointing at the fake."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(FAKE_CREDENTIALS)
        # No instance metadata look-ups: nothing here may leave the machine.
        env.update(AWS_EC2_METADATA_DISABLED="true")
        env.update(AWS_ENDPOINT_URL=self.url, AWS_DEFAULT_REGION=REGION, **extra)
        return env

    def new_bucket(self) -> str:
        name = f"automl-test-{uuid.uuid4().hex[:12]}"
        self.client("s3").create_bucket(Bucket=name)
        return name

    def event_queue(self, job_id: str) -> str:
        """An SQS queue that receives the job's training events from the default bus."""
        sqs = self.client("sqs")
        queue = sqs.create_queue(QueueName=f"events-{job_id}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        pattern = {"source": ["automl.training"], "detail": {"job_id": [job_id]}}
        events = self.client("events")
        events.put_rule(Name=f"training-{job_id}", EventPattern=json.dumps(pattern))
        events.put_targets(
            Rule=f"training-{job_id}",
            Targets=[{"Id": "queue", "Arn": arn["Attributes"]["QueueArn"]}],
        )
        return str(queue)

    def received_events(self, queue: str) -> list[dict[str, Any]]:
        """Every EventBridge envelope delivered to the queue so far."""
        sqs = self.client("sqs")
        envelopes: list[dict[str, Any]] = []
        while True:
            reply = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
            messages = reply.get("Messages", [])
            if not messages:
                return envelopes
            for message in messages:
                envelopes.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture(scope="session")
def fake_aws() -> Iterator[FakeAws]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield FakeAws(f"http://{host}:{port}")
    finally:
        server.stop()
