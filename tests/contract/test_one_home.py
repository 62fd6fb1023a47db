"""The contract has one home: a value that crosses between the bot, the training job and the
stack is defined in contract/ and imported there, never typed again as a literal."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from contract import aws, environment, run_folder
from contract.jobs import INTERNAL_ERROR_CODE
from contract.metrics import METRIC_LABELS
from tests.conftest import REPO

SIDES = ("bot", "training", "infra")
# Also a progress stage's name ("charts"), which is not a folder name.
ORDINARY_WORDS = {run_folder.CHARTS_DIR}


def contract_values() -> dict[str, str]:
    """Each contract string -> the name to import it by."""
    values = {}
    for module in (run_folder, aws, environment):
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str):
                values[value] = f"{module.__name__}.{name}"
    values[INTERNAL_ERROR_CODE] = "contract.jobs.INTERNAL_ERROR_CODE"
    for metric, label in METRIC_LABELS.items():
        if " " in label:  # one-word labels (F1, MAE) are ordinary words in sentences
            values[label] = f"contract.metrics.metric_label({metric!r})"
    return {v: name for v, name in values.items() if v not in ORDINARY_WORDS}


def literal_copies(source: str, values: dict[str, str]) -> list[tuple[int, str]]:
    """(line, value) of every string literal, f-string parts included, equal to a value."""
    return [
        (node.lineno, node.value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in values
    ]


def test_the_values_are_many_and_named_once() -> None:
    values = contract_values()
    assert {"automl.training", "AutoML Training Event", "result.json", "runs/"} <= set(values)
    assert {"AUTOML_EVENT_BUS", "ROC AUC (one-vs-rest)"} <= set(values)


def test_the_check_finds_a_copy() -> None:
    source = 'SOURCE = "automl.training"\nkey = f"datasets/{job_id}/x"\nsafe = "automl"\n'
    assert literal_copies(source, contract_values()) == [(1, "automl.training"), (2, "datasets/")]


def test_no_side_types_a_contract_value_again() -> None:
    values = contract_values()
    copies = []
    for side in SIDES:
        for path in sorted((REPO / side).rglob("*.py")):
            found = literal_copies(path.read_text(encoding="utf-8"), values)
            where = path.relative_to(REPO)
            copies += [f"{where}:{line}: {value!r} is {values[value]}" for line, value in found]
    assert not copies, "import these from contract/ instead:\n" + "\n".join(copies)


def test_the_contract_imports_only_pydantic_and_the_standard_library() -> None:
    allowed = {*sys.stdlib_module_names, "pydantic", "contract"}
    imported = set()
    for path in (REPO / "contract").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.partition(".")[0])
    assert "pydantic" in imported  # the walk sees the imports
    assert imported - allowed == set()


def test_the_stack_side_of_the_contract_needs_no_pydantic() -> None:
    # infra/ and the warm worker import these; only contract.jobs holds the pydantic models.
    script = (
        "import sys, contract.aws, contract.environment, contract.exit_codes, "
        "contract.metrics, contract.run_folder, contract.tasks; print('pydantic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=Path(REPO), capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
