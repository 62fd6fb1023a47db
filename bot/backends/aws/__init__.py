"""The aws backend: S3 artifacts, DynamoDB jobs, AWS Batch (Fargate Spot), a preview Lambda.

Importing this package costs nothing: boto3 loads when `build_aws_backend` runs, and each
client is made on its first call (`LazyClient`), so a cold start that only acknowledges a
Slack request pays for no client it does not use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from bot.ports import Backend
    from bot.settings import Settings

# Seconds the bot waits for the preview function: its timeout (2 minutes in infra/) and a
# margin. The bot Lambda, which waits in a lazy listener, must be allowed longer still.
PREVIEW_WAIT_S: Final = 150
_CALL_TIMEOUT_S: Final = 20


class LazyClient:
    """A boto3 client, made by `factory` on first use; thread-safe."""

    def __init__(self, factory: Callable[[], Any], lock: threading.Lock) -> None:
        self._factory = factory
        self._lock = lock  # shared per boto3 session, which is not thread-safe
        self._client: Any = None

    def _get(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._factory()
        return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)


def build_aws_backend(settings: Settings, *, link_key: bytes) -> Backend:
    """Every port on AWS. `link_key` signs report and model links, which point at the bot's
    own API (`AUTOML_PUBLIC_URL`, set by the stack) and are served by its link route."""
    import boto3
    from botocore.config import Config

    from bot.backends.aws.artifacts import S3ArtifactStore
    from bot.backends.aws.job_store import DynamoJobStore
    from bot.backends.aws.launcher import BatchLauncher
    from bot.backends.aws.previewer import LambdaPreviewer
    from bot.links import LinkSigner
    from bot.ports import Backend
    from bot.settings import AWS_REQUIRED, HINTS, SettingsError, missing_problems
    from contract import environment as env
    from contract.aws import PREVIEW_URL_EXPIRY_S

    problems = missing_problems(settings, AWS_REQUIRED)
    if "public_url" not in settings.model_fields_set:  # its default, localhost, is no use here
        problems.append(f"{env.PUBLIC_URL} is not set; expected {HINTS[env.PUBLIC_URL]}")
    if problems:
        raise SettingsError(problems)
    # Checked just above; for mypy.
    assert settings.aws_bucket is not None
    assert settings.aws_table is not None
    assert settings.aws_job_queue is not None
    assert settings.aws_job_definition is not None

    session = boto3.session.Session()  # region and credentials from the Lambda's environment
    lock = threading.Lock()
    calls = Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=_CALL_TIMEOUT_S,
    )

    def client(service: str, config: Config) -> LazyClient:
        return LazyClient(lambda: session.client(service, config=config), lock)

    # SigV4 and the bucket's regional host name: the only presigned URLs S3 accepts everywhere.
    presigning = Config(signature_version="s3v4", s3={"addressing_style": "virtual"})
    s3 = client("s3", calls.merge(presigning))
    # A preview runs once: a retry after a read timeout would only read the file again.
    previews = Config(read_timeout=PREVIEW_WAIT_S, retries={"total_max_attempts": 1})

    artifacts = S3ArtifactStore(
        settings.aws_bucket,
        s3_client=s3,
        signer=LinkSigner(link_key),
        public_url=settings.public_url,
        link_expiry_s=settings.link_expiry_s,
    )
    jobs = DynamoJobStore(
        settings.aws_table,
        client=client("dynamodb", calls),
        ttl_days=settings.run_expiry_days,
    )
    return Backend(
        name="aws",
        jobs=jobs,
        artifacts=artifacts,
        launcher=BatchLauncher(
            client("batch", calls),
            job_queue=settings.aws_job_queue,
            job_definition=settings.aws_job_definition,
            artifacts=artifacts,
            credentials_function=settings.aws_job_credentials_function,
            # Jobs past AUTOML_MAX_CONCURRENT_JOBS wait in the store, as locally.
            jobs=jobs,
            max_concurrent=settings.max_concurrent_jobs,
        ),
        previewer=LambdaPreviewer(
            client("lambda", previews),
            settings.aws_preview_function,
            limits=settings.input_limits(),
            presign=lambda uri: artifacts.presigned_get(uri, PREVIEW_URL_EXPIRY_S),
        ),
    )
