"""The AWS CDK app (Python) that deploys the bot: `make synth` writes it to `cdk.out/`."""
