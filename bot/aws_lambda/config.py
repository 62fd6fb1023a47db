"""Settings on Lambda: the environment the stack sets, plus Slack's secrets.

The stack gives each Lambda the names of the Secrets Manager secrets, not their values; the
values are read once per container (cached in `bot.backends.aws.secrets`). Every missing
resource name is reported at once, as `automl serve` reports a missing variable.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.backends.aws.secrets import with_slack_secrets
from bot.settings import Settings, load_settings


def lambda_settings(secrets: Iterable[str]) -> Settings:
    """The settings with the aws backend's resources checked and `secrets` filled in."""
    settings = load_settings(require=["aws"], env_file=None)
    return with_slack_secrets(settings, needed=secrets)
