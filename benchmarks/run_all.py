"""Run every benchmark in turn, then gather their results in benchmarks/results/README.md.

    python benchmarks/run_all.py [--skip quality.py]     (`make bench` runs it without options)

One after the other, never in parallel: they time and measure the same machine. A benchmark
that fails (a crash, or a goal it reports as FAIL) does not stop the others; the exit status
is non-zero if any did. The bot's benchmarks report their timing goals without failing on them
(the machine is shared and noisy): they fail when an answer was wrong (a non-200, a missing
reply, a heavy import, a job that did not succeed).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
RESULTS = BENCHMARKS / "results"
# (script, the results it writes) in the order they run; quality.py is optional. The bot's
# benchmarks (serve_harness.py is their helper, not a benchmark) take about a minute together.
SUITE = (
    ("speed.py", "speed.md"),
    ("warm_start.py", "warm_start.md"),
    ("report_follow_up.py", "report_follow_up.md"),
    ("explanations.py", "explanations.md"),
    ("prediction.py", "prediction.md"),
    ("install_size.py", "install_size.md"),
    ("quality.py", "quality.md"),
    ("bot_import.py", "bot_import.md"),
    ("bot_ack.py", "bot_ack.md"),
    ("bot_end_to_end.py", "bot_end_to_end.md"),
    ("slack_budget.py", "slack_budget.md"),
    ("abuse.py", "abuse.md"),
    ("aws.py", "aws.md"),
)


@dataclass(frozen=True)
class Outcome:
    script: str
    exit_code: int | None  # None: not run (absent or skipped)
    seconds: float


def run(script: str, skip: set[str]) -> Outcome:
    path = BENCHMARKS / script
    if script in skip or not path.exists():
        print(f"== {script}: {'skipped' if script in skip else 'not present'}", flush=True)
        return Outcome(script, None, 0.0)
    print(f"== {script}", flush=True)
    started = time.perf_counter()
    code = subprocess.run([sys.executable, str(path)], cwd=ROOT, check=False).returncode
    return Outcome(script, code, time.perf_counter() - started)


def status(outcome: Outcome) -> str:
    if outcome.exit_code is None:
        return "not run"
    return "ok" if outcome.exit_code == 0 else f"exit {outcome.exit_code} (see its results)"


def demoted(markdown: str) -> str:
    """Each result's headings two levels down, under its own section of the README."""
    return re.sub(r"^(#+) ", r"##\1 ", markdown, flags=re.MULTILINE)


def readme(outcomes: list[Outcome]) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `python benchmarks/run_all.py` (`make bench`), "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}. Each section below is a copy of "
        "the .md file named in its heading; the .json files next to them hold every number.",
        "",
        "| benchmark | status | minutes |",
        "|---|---|---|",
    ]
    lines += [f"| {o.script} | {status(o)} | {o.seconds / 60:.1f} |" for o in outcomes]
    for name in result_files():
        lines += ["", f"## {name}", "", demoted((RESULTS / name).read_text()).strip()]
    return "\n".join(lines) + "\n"


def result_files() -> list[str]:
    """The suite's results in suite order, then any other .md a benchmark left here."""
    known = [md for _, md in SUITE if (RESULTS / md).exists()]
    others = sorted(p.name for p in RESULTS.glob("*.md") if p.name not in (*known, "README.md"))
    return known + others


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the benchmarks, then write their README.")
    parser.add_argument("--skip", default="", help="scripts to leave out, e.g. quality.py")
    skip = {name.strip() for name in parser.parse_args(argv).skip.split(",") if name.strip()}
    outcomes = [run(script, skip) for script, _ in SUITE]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "README.md").write_text(readme(outcomes))
    print("\n".join(f"{o.script}: {status(o)}" for o in outcomes))
    print(f"wrote {(RESULTS / 'README.md').relative_to(ROOT)}")
    return 0 if all(o.exit_code in (0, None) for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
