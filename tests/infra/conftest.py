"""The stack's tests are all slow (they synthesize it), and importing the AWS CDK alone takes
seconds and starts Node.js: a run that leaves the slow tests out does not import them at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from _pytest.mark.expression import Expression

SLOW_MODULES = {"test_stack.py"}  # every test in these is marked slow


def runs_slow_tests(config: pytest.Config) -> bool:
    """Whether `-m` (if given) selects tests marked slow and nothing else."""
    markexpr = config.getoption("markexpr")
    if not markexpr:
        return True
    return Expression.compile(markexpr).evaluate(lambda name, **_: name == "slow")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name in SLOW_MODULES and not runs_slow_tests(config):
        return True
    return None
