# Every target sets up what it needs: a fresh machine runs `make demo` or `make test` and nothing else.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
UV := $(BIN)/uv
LOCK := requirements/dev.lock

.PHONY: help demo test test-fast lint typecheck unit bench lock browser bundle synth deploy destroy clean

help:
	@echo "make demo   the whole Slack conversation on the bundled sample, in this terminal"
	@echo "make test   lint, type-check and run the test suite"
	@echo "make test-fast  lint, type-check and the tests not marked slow (a loop while you work)"
	@echo "make bench  run the benchmarks in benchmarks/ (slow)"
	@echo "make bundle build dist/bot-lambda.zip, the bot's Lambda package"
	@echo "make synth  synthesize the AWS CDK stack (cdk-nag checked) into cdk.out/"
	@echo "make deploy deploy to AWS (STAGE=staging for a second stack; ALARM_EMAIL=you@x.y)"
	@echo "make destroy remove the stage's stack (its bucket, job table and secrets are kept)"
	@echo "make lock   re-resolve requirements/*.lock from pyproject.toml"

# The virtual environment, installed exactly from the lock file. Bytecode is compiled at
# install time: where PYTHONDONTWRITEBYTECODE is set, every job would otherwise compile
# pandas, scikit-learn and plotly again (5 s of a small job's budget).
$(BIN)/.installed: pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip sync --quiet --compile-bytecode --python $(BIN)/python $(LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

# kaleido renders charts with a Chromium-based browser; install Debian's where it is missing.
browser:
	@scripts/ensure-browser.sh

# The whole Slack conversation on the bundled sample, in this terminal (no Slack needed).
demo: $(BIN)/.installed browser
	$(BIN)/automl shell < samples/demo-conversation.txt

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

unit: $(BIN)/.installed browser
	$(BIN)/pytest -q

test: lint typecheck unit

# Everything but the tests marked slow (training, browsers, processes and servers that load
# the training stack, the bundle, the CDK synth): for the loop while you work, about a minute.
# CI runs `make test`.
test-fast: lint typecheck $(BIN)/.installed
	$(BIN)/pytest -q -m "not slow"

bench: $(BIN)/.installed browser
	$(BIN)/python benchmarks/run_all.py

lock: $(BIN)/.installed
	$(UV) pip compile --quiet --python-version 3.11 pyproject.toml \
		--extra training --extra bot --extra infra --extra dev -o $(LOCK)
	$(UV) pip compile --quiet --python-version 3.11 pyproject.toml \
		--extra training -o requirements/training.lock
	$(UV) pip compile --quiet --python-version 3.11 pyproject.toml \
		--extra bot -o requirements/bot.lock

# The bot's Lambda package: bot code, the contract and common packages and the bot extra
# for Lambda's Linux x86_64 Python 3.11, bytecode included.
bundle: $(BIN)/.installed
	$(BIN)/python scripts/bundle_bot.py --out dist/bot-lambda.zip

# The AWS stack as CloudFormation in cdk.out/, checked by cdk-nag (needs Node.js, not AWS
# credentials, Docker or the CDK CLI). Without dist/bot-lambda.zip the Lambdas get a
# placeholder: run `make bundle` first for a deployable cdk.out.
synth: $(BIN)/.installed
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(BIN)/python -m infra.app

# The whole AWS deployment of one stage: the bundle, the Slack secrets (found, or created from
# SLACK_BOT_TOKEN / SLACK_SIGNING_SECRET or a prompt that does not echo), `cdk deploy`, and
# dist/slack-manifest.yaml with the request URL filled in. STAGE=staging deploys a second,
# independent stack (AutomlBot-staging); YES=1 asks nothing (CI).
DEPLOY_ARGS = $(if $(STAGE),--stage $(STAGE)) $(if $(ALARM_EMAIL),--alarm-email $(ALARM_EMAIL)) $(if $(YES),--yes)

deploy: bundle
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(BIN)/python scripts/deploy.py deploy $(DEPLOY_ARGS)

destroy: $(BIN)/.installed
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(BIN)/python scripts/deploy.py destroy $(DEPLOY_ARGS)

clean:
	rm -rf $(VENV) automl-data build dist cdk.out .mypy_cache .ruff_cache .pytest_cache
