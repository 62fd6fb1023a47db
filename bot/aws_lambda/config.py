"""Settings on Lambda: the environment the stack sets, plus Slack's secrets.

The stack gives each Lambda the names of the Secrets Manager secrets, not their values; the
values are read once per container (cached in `bot.backends.aws.secrets`). Every missing
resource name is reported at once, as `automl serve` reports a missing variable.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.backends.aws.secrets import with_slack_secrets
from bot.settings import Settings, load_settings
from common.logs import add_secrets


def lambda_settings(secrets: Iterable[str]) -> Settings:
    """The settings with the aws backend's resources checked and `secrets` filled in."""
    settings = load_settings(require=["aws"], env_file=None)
    settings = with_slack_secrets(settings, needed=secrets)
    # Read from Secrets Manager, not the environment: named so that no log line holds them.
    add_secrets(
        *(
            secret.get_secret_value()
            for secret in (settings.slack_bot_token, settings.slack_signing_secret)
            if secret is not None
        )
    )
    return settings
