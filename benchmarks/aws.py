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
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.backends.aws.sizing import task_size  # noqa: E402
from bot.cost import Attempt, FargatePrices, job_cost  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
BUNDLE_GOAL_MB = 5.0
MB = 1024 * 1024
OVERHEAD_S = 60

COLD_START = r"""
import base64, hashlib, hmac, json, sys, time, urllib.parse
started = time.perf_counter()
import bot.aws_lambda.bot_handler as handler_module
handler_module._asgi_handler()  # what the first request does: import the app and build it
imported = time.perf_counter()
heavy = [m for m in ("pandas", "numpy", "flaml", "plotly", "sklearn") if m in sys.modules]
body = urllib.parse.urlencode({"command": "/automl", "text": "help", "user_id": "U1",
    "channel_id": "C1", "team_id": "T1", "response_url": "https://hooks.slack.com/x",
    "trigger_id": "1.2.3"})
ts = str(int(time.time()))
sig = "v0=" + hmac.new(b"bench-secret", f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
event = {"version": "2.0", "routeKey": "POST /slack/events", "rawPath": "/slack/events",
    "rawQueryString": "", "isBase64Encoded": True, "body": base64.b64encode(body.encode()).decode(),
    "headers": {"content-type": "application/x-www-form-urlencoded", "host": "x.example",
                "x-slack-request-timestamp": ts, "x-slack-signature": sig},
    "requestContext": {"http": {"method": "POST", "path": "/slack/events",
        "protocol": "HTTP/1.1", "sourceIp": "1.1.1.1", "userAgent": "Slackbot"},
        "accountId": "1", "apiId": "x", "domainName": "x.example", "requestId": "r",
        "routeKey": "POST /slack/events", "stage": "$default", "timeEpoch": 0}}
class Context:
    function_name = "automl-bot"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:automl-bot"
    aws_request_id = "r"
    def get_remaining_time_in_millis(self): return 30000
answer = handler_module.handler(event, Context())
done = time.perf_counter()
print(json.dumps({"import_s": imported - started, "first_answer_s": done - started,
    "status": answer["statusCode"], "heavy": heavy}))
"""


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


class _InvokeAccepted(BaseHTTPRequestHandler):
    """Lambda's Invoke API for an asynchronous call: 202, whatever the payload."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


def cold_starts(unpacked: Path, runs: int = 7) -> list[dict[str, object]]:
    """The slash command's slow half is handed to Lambda's Invoke API (Bolt's lazy runner):
    a local endpoint accepts it, so the boto3 client's creation and the call are timed too."""
    import boto3

    server = ThreadingHTTPServer(("127.0.0.1", 0), _InvokeAccepted)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        return _cold_starts(unpacked, runs, f"http://127.0.0.1:{server.server_address[1]}", boto3)
    finally:
        server.shutdown()


def _cold_starts(unpacked: Path, runs: int, lambda_url: str, boto3: Any) -> list[dict[str, object]]:
    runtime_libs = str(Path(boto3.__file__).parents[1])  # Lambda's runtime provides boto3
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_LAMBDA": lambda_url,
        "AUTOML_BACKEND": "aws",
        "AUTOML_BUCKET": "bench-bucket",
        "AUTOML_TABLE": "bench-table",
        "AUTOML_JOB_QUEUE": "bench-queue",
        "AUTOML_JOB_DEFINITION": "bench-definition",
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": "bench-secret",
        "PYTHONPATH": f"{unpacked}:{runtime_libs}",
    }
    out = []
    # -I ignores PYTHONPATH: put the bundle first on the path by hand, as Lambda does.
    script = f"import sys; sys.path[:0] = {env['PYTHONPATH'].split(':')!r}\n" + COLD_START
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-I", "-c", script],
            env=env, cwd=unpacked, capture_output=True, text=True, check=True,
        )  # fmt: skip
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


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
