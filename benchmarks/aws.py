"""The AWS deployment's figures: bot bundle size, Lambda cold start, synth time, job cost.

    python benchmarks/aws.py        (make bench runs it; writes benchmarks/results/aws.{json,md})

- Bundle: `scripts/bundle_bot.py` into a temporary folder; the zip's size (goal < 5 MB).
- Cold start: a fresh interpreter with only the unpacked bundle (and boto3, which Lambda's
  runtime provides) on its path imports the handler module and builds the app (what the
  first request of a container does), then answers one signed `/automl help` as an API
  Gateway event. Slack's secrets are given as environment variables, so no AWS call is
  timed. Medians of 7; Lambda's own start-up (runtime, unpacking) comes on top.
- Synth: `python -m infra.app` (what `make synth` runs, cdk-nag included), median of 3.
- Cost: the task size the launcher picks (bot.backends.aws.sizing) for several table sizes
  and budgets, billed as Fargate bills (per second, one-minute minimum) at the default
  prices, assuming the task runs for its budget plus 60 s (start-up, download and upload).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "scripts"))

from bundle_bot import first_requests  # noqa: E402

from bot.backends.aws.sizing import task_size  # noqa: E402
from bot.cost import Attempt, FargatePrices, job_cost  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
BUNDLE_GOAL_MB = 5.0
MB = 1024 * 1024
OVERHEAD_S = 60


def build_bundle(workdir: Path) -> tuple[Path, Path]:
    out = workdir / "bot-lambda.zip"
    build = workdir / "build"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bundle_bot.py"), "--out", str(out),
         "--build-dir", str(build)],
        check=True,
    )  # fmt: skip
    unpacked = workdir / "unpacked"
    with zipfile.ZipFile(out) as archive:
        archive.extractall(unpacked)
    return out, unpacked


def cold_starts(unpacked: Path, runs: int = 7) -> list[dict[str, object]]:
    return first_requests(unpacked, runs)


def synth_times(runs: int = 3) -> list[float]:
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "HOME": str(Path.home()),
    }
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "infra.app"], cwd=ROOT, env=env, check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        times.append(time.perf_counter() - started)
    return times


def cost_table() -> list[dict[str, object]]:
    prices = FargatePrices(_env_file=None)  # type: ignore[call-arg]
    rows = []
    for size_mb in (1, 10, 100, 500):
        for budget in (60, 300, 1800):
            size = task_size(int(size_mb * MB), budget, file_name="data.csv")
            cost = job_cost([Attempt(size.vcpu, size.memory_mib, budget + OVERHEAD_S)], prices)
            assert cost is not None
            rows.append(
                {
                    "csv_mb": size_mb,
                    "budget_s": budget,
                    "vcpu": size.vcpu,
                    "memory_gb": size.memory_mib / 1024,
                    "billed_s": cost.billed_s,
                    "on_demand_usd": round(cost.on_demand_usd, 5),
                    "spot_usd": round(cost.spot_usd, 5),
                }
            )
    return rows


def markdown(report: dict[str, object]) -> str:
    bundle = report["bundle"]
    cold = report["cold_start"]
    synth = report["synth"]
    assert isinstance(bundle, dict)
    assert isinstance(cold, dict)
    assert isinstance(synth, dict)
    lines = [
        "# AWS deployment",
        "",
        "| measure | result |",
        "|---|---|",
        f"| `make bundle` zip | {bundle['mb']:.2f} MB (goal < {BUNDLE_GOAL_MB:g} MB) |",
        f"| cold start: import the handler and build the app (median of {cold['runs']}) | "
        f"{cold['import_s_median']:.2f} s |",
        f"| cold start + first `/automl help` answered (median) | "
        f"{cold['first_answer_s_median']:.2f} s; heavy modules imported: "
        f"{', '.join(cold['heavy']) or 'none'} |",
        f"| `make synth` (cdk-nag included; median of {len(synth['runs_s'])}) | "
        f"{synth['median_s']:.1f} s |",
        "",
        f"Cost per job at the default prices, task running for its budget + {OVERHEAD_S} s:",
        "",
        "| CSV | budget | task | billed | on demand | Spot (estimate) |",
        "|---|---|---|---|---|---|",
    ]
    for row in report["costs"]:  # type: ignore[attr-defined]
        lines.append(
            f"| {row['csv_mb']} MB | {row['budget_s'] // 60} min | {row['vcpu']:g} vCPU, "
            f"{row['memory_gb']:g} GB | {row['billed_s']} s | ${row['on_demand_usd']:.4f} | "
            f"${row['spot_usd']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        zipped, unpacked = build_bundle(Path(tmp))
        size_mb = zipped.stat().st_size / MB
        starts = cold_starts(unpacked)
    imports = [float(s["import_s"]) for s in starts]  # type: ignore[arg-type]
    answers = [float(s["first_answer_s"]) for s in starts]  # type: ignore[arg-type]
    synth = synth_times()
    report: dict[str, object] = {
        "bundle": {"mb": size_mb, "goal_mb": BUNDLE_GOAL_MB},
        "cold_start": {
            "runs": len(starts),
            "import_s_median": statistics.median(imports),
            "first_answer_s_median": statistics.median(answers),
            "import_s": imports,
            "first_answer_s": answers,
            "statuses": sorted({s["status"] for s in starts}),  # type: ignore[type-var]
            "heavy": sorted({m for s in starts for m in s["heavy"]}),  # type: ignore[attr-defined]
        },
        "synth": {"runs_s": synth, "median_s": statistics.median(synth)},
        "costs": cost_table(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "aws.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (RESULTS / "aws.md").write_text(text)
    print(text)
    cold = report["cold_start"]
    assert isinstance(cold, dict)
    wrong = cold["statuses"] != [200] or cold["heavy"]
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
