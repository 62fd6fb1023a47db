"""PLACEHOLDER package: see infra/placeholder_lambda/README.md."""
