"""The one stack: storage, training on Batch, the Lambdas, their events and Slack's API."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.alarms import Alarms
from infra.api import SlackApi
from infra.batch import TrainingBatch
from infra.config import DeployConfig
from infra.events import CompletionEvents, dead_letter_queue
from infra.functions import Functions
from infra.storage import Storage


class AutomlStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeployConfig, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.config = config

        self.storage = Storage(self, "Storage", config=config)
        self.training = TrainingBatch(self, "Training", config=config, bucket=self.storage.bucket)
        # Created before the deploy (`make deploy` checks or creates them), referenced by name.
        bot_token = secretsmanager.Secret.from_secret_name_v2(
            self, "BotToken", config.bot_token_secret
        )
        signing_secret = secretsmanager.Secret.from_secret_name_v2(
            self, "SigningSecret", config.signing_secret_secret
        )
        self.dead_letters = dead_letter_queue(self, "CompletionDeadLetters")
        self.functions = Functions(
            self,
            "Functions",
            config=config,
            bucket=self.storage.bucket,
            table=self.storage.table,
            job_queue=self.training.queue,
            job_definition=self.training.job_definition,
            job_log_group=self.training.log_group,
            bot_token=bot_token,
            signing_secret=signing_secret,
            dead_letters=self.dead_letters,
        )
        self.events = CompletionEvents(
            self,
            "CompletionEvents",
            job_queue=self.training.queue,
            training_bus=self.training.bus,
            completion=self.functions.completion,
            dead_letters=self.dead_letters,
        )
        self.alarms = Alarms(
            self,
            "Alarms",
            email=config.alarm_email,
            functions={
                "Bot": self.functions.bot,
                "Completion": self.functions.completion,
                "Preview": self.functions.preview,
                "JobCredentials": self.functions.issuer,
            },
            lazy_half=self.functions.bot,
            dead_letters=self.dead_letters,
            job_queue=self.training.queue,
        )
        self.api = SlackApi(
            self,
            "Slack",
            bot=self.functions.bot,
            link_writers=[self.functions.bot, self.functions.completion],
            log_retention_days=config.log_retention_days,
            api_name=config.named("automl-slack"),
        )

        CfnOutput(
            self,
            "SlackRequestUrl",
            value=self.api.request_url,
            description="Paste into the Slack app manifest: events, slash command, interactivity",
        )
        CfnOutput(self, "BucketName", value=self.storage.bucket.bucket_name)
        CfnOutput(self, "AlarmTopic", value=self.alarms.topic.topic_arn)
        CfnOutput(self, "JobQueue", value=self.training.queue.job_queue_arn)
