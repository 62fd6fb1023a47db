"""`automl shell`: the bot in a terminal, with an in-process stand-in for Slack."""
