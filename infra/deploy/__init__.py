"""`make deploy` / `make destroy` (scripts/deploy.py), in small steps: the Slack secrets
(`secrets.py`), the CDK CLI call and its outputs (`cdk_cli.py`), the filled-in Slack app
manifest (`manifest.py`). None of it imports the AWS CDK: the CLI synthesizes the app.
"""
