"""The bot's HTTP API: `POST /slack/events` (Slack's requests) and `GET /artifacts/...` (the
report and model links in its messages), both to the bot Lambda.

The links are the bot's own, signed and expiring (bot/links.py), not S3's: a presigned S3 URL
dies with the Lambda session that signed it, hours before the lifetime its message states.
The functions that write links get this API's URL as `AUTOML_PUBLIC_URL`.
"""

from __future__ import annotations

import json

import jsii
from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from contract import environment as env
from contract.aws import ARTIFACT_LINK_PREFIX
from infra.nag import acknowledge
from infra.retention import retention

SLACK_EVENTS_PATH = "/slack/events"
ARTIFACT_LINKS_PATH = f"{ARTIFACT_LINK_PREFIX}/{{proxy+}}"  # /artifacts/<job_id>/<path>

# HTTP API context variables (not REST's: those have no `resourcePath` or `user` here).
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationError": "$context.integrationErrorMessage",
}


class SlackApi(Construct):
    """Events, the slash command and interactivity all post to the same path; links are GETs.

    `link_writers` (the bot and completion Lambdas) are told the API's URL, so that the links
    they put in messages point at it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bot: lambda_.IFunction,
        link_writers: list[lambda_.Function],
        log_retention_days: int,
        api_name: str = "automl-slack",
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            api_name=api_name,
            description="Slack's request URL for the AutoML bot",
            create_default_stage=False,
        )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=retention(log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.stage = apigwv2.HttpStage(
            self,
            "Stage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            access_log_settings=_AccessLogs(self.access_logs),
            # Slack sends a handful of requests a second at most; this caps a flood's bill.
            throttle=apigwv2.ThrottleSettings(rate_limit=50, burst_limit=100),
        )
        to_bot = integrations.HttpLambdaIntegration("Bot", bot)
        self.api.add_routes(
            path=SLACK_EVENTS_PATH, methods=[apigwv2.HttpMethod.POST], integration=to_bot
        )
        self.api.add_routes(
            path=ARTIFACT_LINKS_PATH, methods=[apigwv2.HttpMethod.GET], integration=to_bot
        )
        for function in link_writers:
            function.add_environment(env.PUBLIC_URL, self.public_url)
        acknowledge(
            self.api,
            "AwsSolutions-APIG4",
            "Slack cannot send IAM, JWT or Lambda-authorizer credentials; every request is "
            "authenticated by the bot itself with Slack's signature (HMAC of the body with "
            "the signing secret, timestamp within 5 minutes) and refused with 401 otherwise. "
            "The artifact links are opened by people's browsers: each carries the bot's own "
            "HMAC of its job, file and expiry, checked before anything is read.",
        )

    @property
    def public_url(self) -> str:
        """The API's base URL, without a trailing `/` (`https://<id>.execute-api...`)."""
        return self.api.api_endpoint

    @property
    def request_url(self) -> str:
        """What to paste into the Slack app's settings (the stage URL ends with `/`)."""
        return f"{self.stage.url}{SLACK_EVENTS_PATH.lstrip('/')}"


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    """IAccessLogSettings is an interface, not a struct: Python passes an object (jsii)."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS))
