"""Settings on Lambda: the environment the stack sets, plus Slack's secrets.

The stack gives each Lambda the names of the Secrets Manager secrets, not their values; the
values are read once per container (cached in `bot.backends.aws.secrets`) and exposed as
the variables the rest of the bot reads, so nothing downstream knows it runs on Lambda.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from bot.settings import Settings, load_settings

# variable the bot reads -> variable naming the secret that holds its value
SECRET_VARIABLES = {
    "SLACK_BOT_TOKEN": "AUTOML_BOT_TOKEN_SECRET",
    "SLACK_SIGNING_SECRET": "AUTOML_SIGNING_SECRET_SECRET",
}


def lambda_settings(require: Iterable[str]) -> Settings:
    from bot.backends.aws.secrets import secret_value

    for variable, secret_variable in SECRET_VARIABLES.items():
        secret_id = os.environ.get(secret_variable)
        if variable in require and secret_id and not os.environ.get(variable):
            os.environ[variable] = secret_value(secret_id).strip()
    return load_settings(require=list(require), env_file=None)
