"""The leaderboard: one row per model family (and the ensemble), best first, for result.json
and leaderboard.csv."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.spreadsheet import safe_cell
from contract.jobs import LeaderboardRow
from training.pipeline.metrics import HIGHER_IS_BETTER

if TYPE_CHECKING:
    from training.pipeline.search import SearchOutcome


def leaderboard_rows(outcome: SearchOutcome, metric: str) -> list[LeaderboardRow]:
    """Scored families best first, then the ones that never finished a trial."""
    tried = [e for e in outcome.estimators if e.validation_score is not None]
    higher = metric in HIGHER_IS_BETTER
    tried.sort(key=lambda e: -(e.validation_score or 0) if higher else (e.validation_score or 0))
    untried = [e for e in outcome.estimators if e.validation_score is None]
    rows = []
    for rank, e in enumerate([*tried, *untried], start=1):
        rows.append(
            LeaderboardRow(
                rank=rank,
                estimator=e.estimator,
                validation_score=e.validation_score,
                train_time_s=round(e.train_time_s, 3),
                trials=e.trials,
                config=_jsonable(e.config),
                weights=e.weights,
            )
        )
    return rows


def write_leaderboard_csv(path: Path, rows: list[LeaderboardRow]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["rank", "estimator", "validation_score", "train_time_s", "trials", "config"]
        )
        for row in rows:
            cells = [
                row.rank,
                row.estimator,
                row.validation_score,
                row.train_time_s,
                row.trials,
                json.dumps(row.config),
            ]
            writer.writerow([safe_cell(cell) for cell in cells])  # opened in spreadsheets


def _jsonable(config: dict[str, Any]) -> dict[str, Any]:
    """numpy scalars -> plain numbers, so the config survives JSON."""
    return json.loads(
        json.dumps(config, default=lambda v: v.item() if hasattr(v, "item") else str(v))
    )
