"""Training on AWS Batch: Fargate Spot first, on demand second, in a VPC with no NAT."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from contract import environment as env
from contract import exit_codes
from infra.config import REPO_ROOT, TRAINING_DOCKERFILE, DeployConfig
from infra.nag import acknowledge
from infra.retention import retention

# Defaults of one job; the launcher overrides vCPU and memory per job from the data size.
DEFAULT_VCPU = 2
DEFAULT_MEMORY = Size.gibibytes(4)

# Batch matches exit codes as strings.
EXIT_BAD_INPUT = str(exit_codes.BAD_INPUT)
EXIT_INTERRUPTED = str(exit_codes.INTERRUPTED)


def training_image_asset_options() -> dict[str, object]:
    """How the training image is built (at deploy time; synth only stages the context).

    The context is the repository root: its .dockerignore is an allow-list. CDK keeps the
    Dockerfile in the staged context only by its base name, and the .dockerignore excludes
    `training/Dockerfile` (so editing it does not invalidate the code layer), hence the
    explicit re-include here; docker itself still keeps it out of COPY.
    """
    return {
        "directory": str(REPO_ROOT),
        "file": TRAINING_DOCKERFILE,
        "exclude": [f"!{TRAINING_DOCKERFILE}"],
        # Fargate Spot runs x86 only; also keeps an Apple Silicon laptop from building arm64.
        "platform": ecr_assets.Platform.LINUX_AMD64,
    }


class TrainingBatch(Construct):
    """The network, compute environments, job queue and job definition of training jobs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self._config = config

        # Public subnets only: tasks get a public IP and reach S3, ECR, EventBridge and
        # CloudWatch through the internet gateway. No NAT gateway and no interface
        # endpoints, so nothing is billed by the hour.
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                )
            ],
            # The default security group is never used; locking it down takes a custom
            # resource Lambda, which is more to run than it protects.
            restrict_default_security_group=False,
        )
        # A gateway endpoint is free: dataset and artifact traffic stays on AWS's network.
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        acknowledge(
            self.vpc,
            "AwsSolutions-VPC7",
            "The VPC only holds short-lived training tasks with no inbound access; flow "
            "logs would cost more than the tasks' traffic is worth auditing.",
        )

        # No inbound rules; outbound HTTPS only (every AWS API the job calls).
        self.security_group = ec2.SecurityGroup(
            self,
            "Tasks",
            vpc=self.vpc,
            description="AutoML training tasks: no inbound, HTTPS out",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS APIs: S3, ECR, EventBridge, Logs"
        )

        # The two differ only in how the tasks are billed.
        self.spot, self.on_demand = (
            batch.FargateComputeEnvironment(
                self,
                construct_id,
                vpc=self.vpc,
                vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
                security_groups=[self.security_group],
                spot=spot,
                maxv_cpus=config.max_vcpus,
            )
            for construct_id, spot in (("Spot", True), ("OnDemand", False))
        )

        # Batch tries the environments in order: Spot first, on demand when the Spot one
        # cannot take the job. A job that still cannot be placed is cancelled after a
        # while, so it ends FAILED and the completion Lambda answers its thread instead of
        # leaving it waiting for ever.
        self.queue = batch.JobQueue(
            self,
            "Queue",
            compute_environments=[
                batch.OrderedComputeEnvironment(compute_environment=self.spot, order=1),
                batch.OrderedComputeEnvironment(compute_environment=self.on_demand, order=2),
            ],
            job_state_time_limit_actions=[
                _cancel_when_stuck(
                    batch.JobStateTimeLimitActionsReason.INSUFFICIENT_INSTANCE_CAPACITY, 30
                ),
                _cancel_when_stuck(
                    batch.JobStateTimeLimitActionsReason.COMPUTE_ENVIRONMENT_MAX_RESOURCE, 10
                ),
                _cancel_when_stuck(
                    batch.JobStateTimeLimitActionsReason.JOB_RESOURCE_REQUIREMENT, 10
                ),
            ],
        )

        # Unnamed and deleted with the stack, like every log group here: destroy, then deploy.
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.job_role = self._job_role(stack)
        self.bus = self._event_bus()
        self.execution_role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Pulls the training image and writes the job's logs",
        )

        container = batch.EcsFargateContainerDefinition(
            self,
            "Container",
            image=ecs.ContainerImage.from_asset(**training_image_asset_options()),  # type: ignore[arg-type]
            cpu=DEFAULT_VCPU,
            memory=DEFAULT_MEMORY,
            assign_public_ip=True,
            fargate_cpu_architecture=ecs.CpuArchitecture.X86_64,
            fargate_operating_system_family=ecs.OperatingSystemFamily.LINUX,
            fargate_platform_version=ecs.FargatePlatformVersion.LATEST,
            environment={env.BUCKET: bucket.bucket_name, env.EVENT_BUS: self.bus.event_bus_name},
            job_role=self.job_role,
            execution_role=self.execution_role,
            logging=ecs.LogDriver.aws_logs(stream_prefix="training", log_group=self.log_group),
            # Python is PID 1: a tiny init reaps the headless browser's orphans.
            linux_parameters=batch.LinuxParameters(
                self, "LinuxParameters", init_process_enabled=True
            ),
        )
        self.job_definition = batch.EcsJobDefinition(
            self,
            "JobDefinition",
            container=container,
            propagate_tags=True,
            # A backstop only: the launcher sets each job's timeout from its time budget.
            timeout=Duration.hours(1),
            retry_attempts=3,
            retry_strategies=retry_strategies(),
        )
        self._acknowledge_findings()

    def _job_role(self, stack: Stack) -> iam.Role:
        """No S3 at all: the job gets credentials for its own files from the issuer.

        The credential issuer (infra/functions.py, bot/aws_lambda/job_credentials.py) checks
        with Batch which job is asking and returns a session limited to that job's dataset
        and run folder. Its ARN is built from its fixed name: the function is made later
        (by `Functions`, from the queue made here), so no reference to it exists yet.
        """
        role = iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="The training job: asks for its own S3 credentials, publishes events",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="GetItsOwnS3Credentials",
                actions=["lambda:InvokeFunction"],
                resources=[
                    stack.format_arn(
                        service="lambda",
                        resource="function",
                        resource_name=self._config.credentials_function,
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        return role

    def _event_bus(self) -> events.EventBus:
        """The training events' own bus: the job role may put to it, and nobody else.

        IAM alone would let any principal with `events:PutEvents` on `*` fake a job's progress;
        the bus's resource policy denies every caller but the job role.
        """
        bus = events.EventBus(self, "Events", event_bus_name=self._config.event_bus)
        bus.grant_put_events_to(self.job_role)
        bus.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTrainingJobsPut",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["events:PutEvents"],
                resources=[bus.event_bus_arn],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": self.job_role.role_arn}},
            )
        )
        return bus

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.execution_role,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken has no resource-level permissions; CDK's image "
            "asset grant adds it with Resource *. Pulling is limited to the asset repository.",
        )


def retry_strategies() -> list[batch.RetryStrategy]:
    """The contract's retry strategy, in Batch's order of evaluation (first match wins).

    Retry an interrupted job (exit 3: a Spot reclaim's SIGTERM), a Spot interruption and a
    task that failed to start; bad input (exit 2) and everything else fail at once.
    """
    retry = batch.Action.RETRY
    fail = batch.Action.EXIT
    return [
        batch.RetryStrategy.of(retry, batch.Reason.custom(on_exit_code=EXIT_INTERRUPTED)),
        batch.RetryStrategy.of(
            retry, batch.Reason.custom(on_status_reason="Your Spot Task was interrupted*")
        ),
        batch.RetryStrategy.of(
            retry, batch.Reason.custom(on_status_reason="Task failed to start*")
        ),
        batch.RetryStrategy.of(fail, batch.Reason.custom(on_exit_code=EXIT_BAD_INPUT)),
        batch.RetryStrategy.of(fail, batch.Reason.custom(on_reason="*")),
    ]


def _cancel_when_stuck(
    reason: batch.JobStateTimeLimitActionsReason, minutes: int
) -> batch.JobStateTimeLimitAction:
    return batch.JobStateTimeLimitAction(
        action=batch.JobStateTimeLimitActionsAction.CANCEL,
        state=batch.JobStateTimeLimitActionsState.RUNNABLE,
        reason=reason,
        max_time=Duration.minutes(minutes),
    )
