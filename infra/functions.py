"""The Lambdas: the bot (Slack's endpoint), the completion handler, the previewer, and the
training jobs' credential issuer."""

from __future__ import annotations

from aws_cdk import Annotations, ArnFormat, Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contract import environment as env
from contract.aws import (
    BATCH_JOB_TAGS,
    BATCH_QUEUE_TAG,
    DATASETS_PREFIX,
    JOB_COST_FILE,
    RUNS_PREFIX,
)
from contract.run_folder import MODEL_SIGNATURE_FILE
from infra.batch import training_image_asset_options
from infra.config import (
    BOT_BUNDLE,
    BOT_HANDLER,
    COMPLETION_HANDLER,
    PLACEHOLDER_BUNDLE,
    PREVIEW_ENTRYPOINT,
    PREVIEW_HANDLER,
    DeployConfig,
)
from infra.nag import acknowledge, arn_finding
from infra.retention import retention
from infra.storage import JOB_TABLE

# What the completion Lambda may write: each run's model signature, `runs/<job_id>/model.sig`,
# and what the job cost, `runs/<job_id>/cost.json` (summed by `/automl cost`).
MODEL_SIGNATURE_KEYS = f"{RUNS_PREFIX}*/{MODEL_SIGNATURE_FILE}"
COST_KEYS = f"{RUNS_PREFIX}*/{JOB_COST_FILE}"

# The credential issuer's entry, in the bot's zip (bot/aws_lambda/job_credentials.py).
JOB_CREDENTIALS_HANDLER = "bot.aws_lambda.job_credentials.handler"

# The job store's calls (bot/backends/aws/job_store.py): get_item, put_item, update_item,
# query, and transact_write_items of Puts (authorized as PutItem). Nothing else: no Scan,
# no DeleteItem (the TTL deletes). A new call in the store needs its action here.
JOB_TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
]


# Slack's requests are answered in well under 3 s (API Gateway gives up at 29 s anyway); the
# timeout is for the lazy half that runs in a self-invocation of the same function: copying
# the Slack file to S3 and waiting for the preview Lambda (up to its own 2 minutes).
BOT_TIMEOUT = Duration.minutes(5)
PREVIEW_TIMEOUT = Duration.minutes(2)
# Every function logs JSON lines (common/logs.py) at INFO: Lambda's own lines are JSON too,
# and its log-level filtering reads the lines' `level`.
JSON_LOGS = {
    "logging_format": lambda_.LoggingFormat.JSON,
    "application_log_level_v2": lambda_.ApplicationLogLevel.INFO,
    "system_log_level_v2": lambda_.SystemLogLevel.INFO,
}


def bot_code() -> tuple[lambda_.Code, bool]:
    """The bot's zip from `make bundle`, or the placeholder (and False) when it is missing.

    The placeholder keeps `make synth` and the tests working in a clean clone; deployed,
    its handlers fail every call with a message that says to run `make bundle`.
    """
    if BOT_BUNDLE.is_file():
        return lambda_.Code.from_asset(str(BOT_BUNDLE)), True
    return lambda_.Code.from_asset(str(PLACEHOLDER_BUNDLE)), False


class Functions(Construct):
    """The Lambdas, each with its own role, log group and exactly the permissions it uses."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        bucket: s3.IBucket,
        table: dynamodb.ITable,
        job_queue: batch.IJobQueue,
        job_definition: batch.IJobDefinition,
        job_log_group: logs.ILogGroup,
        bot_token: secretsmanager.ISecret,
        signing_secret: secretsmanager.ISecret,
        dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self._stack = Stack.of(self)
        self._config = config
        self._bucket = bucket

        code, self.bundled = bot_code()
        if not self.bundled:
            Annotations.of(self).add_warning_v2(
                "automl:placeholder-bundle",
                f"{BOT_BUNDLE.name} not found: the bot and completion Lambdas get a "
                "placeholder that fails every call. Run `make bundle` before `cdk deploy`.",
            )

        shared_env = {
            env.BACKEND: "aws",
            env.BUCKET: bucket.bucket_name,
            env.TABLE: table.table_name,
            env.JOB_QUEUE: job_queue.job_queue_arn,
            env.JOB_DEFINITION: job_definition.job_definition_arn,
            env.BOT_TOKEN_SECRET: config.bot_token_secret,
            env.RUN_EXPIRY_DAYS: str(config.run_expiry_days),
        }

        # -- preview: the training image, reading a dataset enough to describe it ----------
        self.preview_role = self._role(
            "PreviewRole", "Previews one dataset, read through the bot's presigned GET: no S3"
        )
        self.preview_log_group = self._log_group(
            "PreviewLogs", config.preview_function, self.preview_role
        )
        self.preview = lambda_.DockerImageFunction(
            self,
            "Preview",
            function_name=config.preview_function,
            description="Previews a shared table (rows, column kinds, suggested target)",
            code=lambda_.DockerImageCode.from_image_asset(
                **training_image_asset_options(),  # type: ignore[arg-type]
                entrypoint=PREVIEW_ENTRYPOINT,
                cmd=[PREVIEW_HANDLER],
            ),
            architecture=lambda_.Architecture.X86_64,
            memory_size=3008,
            timeout=PREVIEW_TIMEOUT,
            # The dataset is downloaded to /tmp; 1 GB holds the largest file the bot fetches.
            ephemeral_storage_size=Size.gibibytes(1),
            environment={env.BUCKET: bucket.bucket_name},
            role=self.preview_role,
            log_group=self.preview_log_group,
            **JSON_LOGS,  # type: ignore[arg-type]
        )

        # -- bot: Slack's request URL; acks in 3 s, then re-invokes itself for the slow half -
        self.bot_role = self._role("BotRole", "The Slack bot behind the HTTP API")
        self.bot_log_group = self._log_group("BotLogs", config.bot_function, self.bot_role)
        self._grant_bucket(
            self.bot_role,
            datasets=["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            # spec.json, and result.json for a job that ended before it trained.
            runs=["s3:GetObject", "s3:PutObject"],
        )
        self._grant_table(self.bot_role, table)
        self._grant_submit(self.bot_role, job_queue, job_definition)
        any_job = self._stack.format_arn(service="batch", resource="job", resource_name="*")
        queue_tag = f"aws:ResourceTag/{BATCH_QUEUE_TAG}"
        self.bot_role.add_to_policy(
            iam.PolicyStatement(
                sid="CancelTrainingJobs",
                actions=["batch:TerminateJob"],
                resources=[any_job],
                conditions={"StringEquals": {queue_tag: job_queue.job_queue_arn}},
            )
        )
        self.bot_role.add_to_policy(
            iam.PolicyStatement(
                sid="FindTrainingJobs",
                actions=["batch:ListJobs"],
                resources=["*"],  # ListJobs has no resource-level permissions
            )
        )
        self.self_arn = self._function_arn(config.bot_function)
        self.bot_role.add_to_policy(
            iam.PolicyStatement(
                sid="InvokePreviewAndSelf",
                actions=["lambda:InvokeFunction"],
                # By name, not `grant_invoke(self)`: that would make the role depend on the
                # function that depends on the role (a circular dependency, cfn-lint E3004).
                resources=[self.preview.function_arn, self.self_arn],
            )
        )
        bot_token.grant_read(self.bot_role)
        signing_secret.grant_read(self.bot_role)
        self.bot = lambda_.Function(
            self,
            "Bot",
            function_name=config.bot_function,
            description="Slack events, commands and interactivity (Bolt via Mangum)",
            runtime=lambda_.Runtime.PYTHON_3_11,
            architecture=lambda_.Architecture.X86_64,
            handler=BOT_HANDLER,
            code=code,
            # More memory is more CPU: the cold start must still ack within Slack's 3 s.
            memory_size=1024,
            timeout=BOT_TIMEOUT,
            environment={
                **shared_env,
                env.PREVIEW_FUNCTION: config.preview_function,
                # The issuer the launcher names on each job (the job role may invoke it).
                env.JOB_CREDENTIALS_FUNCTION: config.credentials_function,
                env.SIGNING_SECRET_SECRET: config.signing_secret_secret,
            },
            role=self.bot_role,
            log_group=self.bot_log_group,
            **JSON_LOGS,  # type: ignore[arg-type]
        )

        # -- completion: Batch state changes and the job's own events -> the Slack thread --
        self.completion_role = self._role(
            "CompletionRole", "Reports training jobs' progress and results in Slack"
        )
        self.completion_log_group = self._log_group(
            "CompletionLogs", config.completion_function, self.completion_role
        )
        # Datasets: read for their size (HeadObject) when it submits a job that waited for a
        # slot (AUTOML_MAX_CONCURRENT_JOBS), as the bot does for a job that starts at once.
        self._grant_bucket(self.completion_role, datasets=["s3:GetObject"], runs=["s3:GetObject"])
        self._grant_submit(self.completion_role, job_queue, job_definition)
        # It signs each succeeded job's model (bot/model_signature.py) and keeps what each job
        # cost: model.sig and cost.json, nothing else.
        self.completion_role.add_to_policy(
            iam.PolicyStatement(
                sid="SignModelsAndKeepCosts",
                actions=["s3:PutObject"],
                resources=[
                    self._bucket.arn_for_objects(MODEL_SIGNATURE_KEYS),
                    self._bucket.arn_for_objects(COST_KEYS),
                ],
            )
        )
        self._grant_table(self.completion_role, table)
        self.completion_role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadJobLogTail",
                actions=["logs:GetLogEvents"],
                resources=[
                    job_log_group.log_group_arn,  # the group's ARN ending in `:*` (its streams)
                    self._stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=job_log_group.log_group_name,
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    ),
                ],
            )
        )
        bot_token.grant_read(self.completion_role)
        # Its links (bot/links.py) and model signatures use keys derived from Slack's secret.
        signing_secret.grant_read(self.completion_role)
        self.completion = lambda_.Function(
            self,
            "Completion",
            function_name=config.completion_function,
            description="Batch job state changes and training events -> the job's Slack thread",
            runtime=lambda_.Runtime.PYTHON_3_11,
            architecture=lambda_.Architecture.X86_64,
            handler=COMPLETION_HANDLER,
            code=code,
            memory_size=512,
            # Uploading the charts and posting the results takes a few Slack calls.
            timeout=Duration.minutes(2),
            environment={
                **shared_env,
                env.JOB_LOG_GROUP: job_log_group.log_group_name,
                env.SIGNING_SECRET_SECRET: config.signing_secret_secret,
                # The issuer the launcher names on each job it submits (a job that waited).
                env.JOB_CREDENTIALS_FUNCTION: config.credentials_function,
            },
            role=self.completion_role,
            log_group=self.completion_log_group,
            **JSON_LOGS,  # type: ignore[arg-type]
            # EventBridge invokes asynchronously: events that still fail after Lambda's own
            # retries are kept, not lost.
            dead_letter_queue=dead_letters,
            retry_attempts=2,
        )
        # The sweep (bot/aws_lambda/sweeper.py) asks Batch about jobs whose events were lost.
        self.completion_role.add_to_policy(
            iam.PolicyStatement(
                sid="SweepLostJobs",
                actions=["batch:ListJobs", "batch:DescribeJobs"],
                resources=["*"],  # neither has resource-level permissions
            )
        )
        # A lazy half that failed is not run again a minute later: one action, one answer.
        # Lambda hands the failed invocation to the completion Lambda, which tells the person.
        self.bot.configure_async_invoke(
            retry_attempts=0,
            on_failure=destinations.LambdaDestination(self.completion, response_only=False),
        )
        self._credential_issuer(code, job_queue)
        self._acknowledge_findings()

    def _credential_issuer(self, code: lambda_.Code, job_queue: batch.IJobQueue) -> None:
        """Training jobs' S3 credentials: a running job's own dataset and run folder only.

        The job role has no S3 access and may invoke only this function (infra/batch.py);
        the function checks the job with Batch and hands out sessions of the data role,
        narrowed by a session policy to that one job (bot/aws_lambda/job_credentials.py).
        The data role trusts this function's role alone.
        """
        self.issuer_role = self._role(
            "JobCredentialsRole", "Gives a running training job S3 credentials for its own files"
        )
        self.issuer_log_group = self._log_group(
            "JobCredentialsLogs", self._config.credentials_function, self.issuer_role
        )
        self.job_data_role = iam.Role(
            self,
            "JobDataRole",
            assumed_by=iam.ArnPrincipal(self.issuer_role.role_arn),
            description="Training jobs' S3 access; every session is narrowed to one job",
        )
        self.job_data_role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadDatasets",
                actions=["s3:GetObject"],
                resources=[self._bucket.arn_for_objects(f"{DATASETS_PREFIX}*")],
            )
        )
        self.job_data_role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadWriteRuns",
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[self._bucket.arn_for_objects(f"{RUNS_PREFIX}*")],
            )
        )
        self.issuer_role.add_to_policy(
            iam.PolicyStatement(
                sid="CheckTheCallingJob",
                actions=["batch:DescribeJobs"],
                resources=["*"],  # no resource-level permissions
            )
        )
        self.issuer_role.add_to_policy(
            iam.PolicyStatement(
                sid="IssueJobSessions",
                actions=["sts:AssumeRole"],
                resources=[self.job_data_role.role_arn],
            )
        )
        self.issuer = lambda_.Function(
            self,
            "JobCredentials",
            function_name=self._config.credentials_function,
            description="S3 credentials for one running training job's own dataset and run",
            runtime=lambda_.Runtime.PYTHON_3_11,
            architecture=lambda_.Architecture.X86_64,
            handler=JOB_CREDENTIALS_HANDLER,
            code=code,
            memory_size=256,
            timeout=Duration.seconds(30),
            environment={
                env.BUCKET: self._bucket.bucket_name,
                env.JOB_QUEUE: job_queue.job_queue_arn,
                env.JOB_DATA_ROLE: self.job_data_role.role_arn,
            },
            role=self.issuer_role,
            log_group=self.issuer_log_group,
            **JSON_LOGS,  # type: ignore[arg-type]
        )
        for prefix in (DATASETS_PREFIX, RUNS_PREFIX):
            acknowledge(
                self.job_data_role,
                f"AwsSolutions-IAM5[{arn_finding(self._stack, self._bucket, f'/{prefix}*')}]",
                f"The role's ceiling; each session the issuer hands out is narrowed by a "
                f"session policy to one job's keys (`{prefix}<job_id>/*`).",
            )
        acknowledge(
            self.issuer_role,
            "AwsSolutions-IAM5[Resource::*]",
            "batch:DescribeJobs (checking the job that asks) has no resource-level permissions.",
        )
        acknowledge(
            self.issuer,
            "AwsSolutions-L1",
            "Python 3.11 on purpose: the same zip as the bot's (pyproject requires-python).",
        )

    # -- helpers ---------------------------------------------------------------------------

    def _role(self, construct_id: str, description: str) -> iam.Role:
        return iam.Role(
            self,
            construct_id,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=description,
        )

    def _log_group(self, construct_id: str, function_name: str, role: iam.Role) -> logs.LogGroup:
        # The name Lambda would pick itself, created here so it has a retention period.
        # Deleted with the stack: a kept group of that name would make the next deploy of
        # the same stage fail (the name already exists).
        group = logs.LogGroup(
            self,
            construct_id,
            log_group_name=f"/aws/lambda/{function_name}",
            retention=retention(self._config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        group.grant_write(role)  # no managed AWSLambdaBasicExecutionRole: this group only
        return group

    def _function_arn(self, function_name: str) -> str:
        return self._stack.format_arn(
            service="lambda",
            resource="function",
            resource_name=function_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def _grant_bucket(self, role: iam.Role, *, datasets: list[str], runs: list[str]) -> None:
        prefixes = {DATASETS_PREFIX: datasets, RUNS_PREFIX: runs}
        for prefix, actions in prefixes.items():
            if actions:
                role.add_to_policy(
                    iam.PolicyStatement(
                        actions=actions, resources=[self._bucket.arn_for_objects(f"{prefix}*")]
                    )
                )
        # Without ListBucket, S3 answers a missing key (a job that wrote no result.json) with
        # 403 instead of 404, which the artifact store cannot tell from a real error. An
        # `s3:prefix` condition would not help: that key exists only on list requests.
        role.add_to_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self._bucket.bucket_arn])
        )

    def _grant_submit(
        self, role: iam.Role, job_queue: batch.IJobQueue, job_definition: batch.IJobDefinition
    ) -> None:
        """SubmitJob on the queue with the definition, tagged as the launcher tags."""
        role.add_to_policy(
            iam.PolicyStatement(
                sid="SubmitTrainingJobs",
                actions=["batch:SubmitJob"],
                resources=[job_queue.job_queue_arn, job_definition.job_definition_arn],
            )
        )
        # Batch job ids are made at submit time, so the bot's jobs are told apart by a tag the
        # launcher sets (its queue's ARN): TerminateJob needs it, and tagging (on submit) must
        # set that tag to that value, and may set only the cost-allocation tags besides
        # (job id, channel, person: contract.aws.BATCH_JOB_TAGS).
        any_job = self._stack.format_arn(service="batch", resource="job", resource_name="*")
        role.add_to_policy(
            iam.PolicyStatement(
                sid="TagTrainingJobsOnSubmit",
                actions=["batch:TagResource"],
                resources=[any_job],
                conditions={
                    "StringEquals": {f"aws:RequestTag/{BATCH_QUEUE_TAG}": job_queue.job_queue_arn},
                    "ForAllValues:StringEquals": {
                        "aws:TagKeys": [BATCH_QUEUE_TAG, *BATCH_JOB_TAGS.values()]
                    },
                },
            )
        )

    def _grant_table(self, role: iam.Role, table: dynamodb.ITable) -> None:
        role.add_to_policy(
            iam.PolicyStatement(
                actions=JOB_TABLE_ACTIONS,
                resources=[
                    table.table_arn,
                    *(f"{table.table_arn}/index/{name}" for name in JOB_TABLE.indexes),
                ],
            )
        )

    def _acknowledge_findings(self) -> None:
        stack = self._stack
        object_keys = (
            "Object keys are per job (`{prefix}<job_id>/...`), known only at run time; the "
            "prefix is the narrowest fixed scope."
        )
        grants = {
            self.bot_role: (DATASETS_PREFIX, RUNS_PREFIX),
            self.completion_role: (DATASETS_PREFIX, RUNS_PREFIX),
        }
        for role, prefixes in grants.items():
            for prefix in prefixes:
                acknowledge(
                    role,
                    f"AwsSolutions-IAM5[{arn_finding(stack, self._bucket, f'/{prefix}*')}]",
                    object_keys.format(prefix=prefix),
                )
        for keys in (MODEL_SIGNATURE_KEYS, COST_KEYS):
            acknowledge(
                self.completion_role,
                f"AwsSolutions-IAM5[{arn_finding(stack, self._bucket, f'/{keys}')}]",
                f"It writes one file per run, {keys.rsplit('/', 1)[-1]}, under a job id known "
                "only at run time.",
            )
        acknowledge(
            self.bot_role,
            f"AwsSolutions-IAM5[{arn_finding(stack, self.completion, ':*')}]",
            "The failure destination's grant (CDK's) covers the completion function's "
            "versions and aliases; the bot invokes nothing else there.",
        )
        acknowledge(
            self.completion_role,
            "AwsSolutions-IAM5[Resource::*]",
            "batch:ListJobs and batch:DescribeJobs (the sweep of lost jobs) have no "
            "resource-level permissions.",
        )
        acknowledge(
            self.bot_role,
            "AwsSolutions-IAM5[Resource::*]",
            "batch:ListJobs (finding a job's Batch id by its name, to cancel it) has no "
            "resource-level permissions.",
        )
        for role in (self.bot_role, self.completion_role):
            acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:job/*]",
                "Batch job ids are generated at submit time; TerminateJob and TagResource are "
                "limited by a condition on the automl-queue tag (this stack's queue) instead.",
            )
        for function in (self.bot, self.completion):
            acknowledge(
                function,
                "AwsSolutions-L1",
                "Python 3.11 on purpose: the project (pyproject requires-python) and the "
                "bundle's compiled wheels are 3.11.",
            )
