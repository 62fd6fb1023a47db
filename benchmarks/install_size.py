"""Installed size of the training job's Python dependencies, installed the way the image does.

The steps mirror training/Dockerfile: uv (the version pinned in the Makefile) in a tools
environment, `uv pip sync` of requirements/training.lock into an empty venv without pip,
training/prune-site-packages.sh on its site-packages, then the project itself with --no-deps
from a copy of what the Docker build context holds. Packages come from the registry (through
uv's cache when it has them).

    python benchmarks/install_size.py

Reports the size of site-packages as installed (raw) and after the prune script (what the image
holds), the 10 biggest distributions, checks that what got installed is exactly the lock, that
no CUDA/NVIDIA package or library and no pyarrow came along. Goal: the pruned site-packages
under 400 MB. Then, to show the pruning removed nothing the job needs, runs a real job with the
pruned venv's Python on samples/churn.csv: it must succeed and produce its charts (and its EDA
report, or a note saying why not). Writes benchmarks/results/install_size.json and
install_size.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
LOCK = ROOT / "requirements" / "training.lock"
DOCKERFILE = ROOT / "training" / "Dockerfile"
PRUNE = ROOT / "training" / "prune-site-packages.sh"
SAMPLE = ROOT / "samples" / "churn.csv"
SMOKE_TARGET = "churned"
SMOKE_BUDGET_S = 20
SMOKE_TIMEOUT_S = 300  # the budget plus imports, evaluation, charts and the report
GOAL_MB = 400.0
MB = 1024 * 1024
TOP = 10
# Names of GPU runtimes that must not ride along (xgboost's default wheel pulls nvidia-nccl).
CUDA_NAME = re.compile(r"nvidia|cuda|cudnn|cublas|nccl|cupy|tensorrt", re.IGNORECASE)
CUDA_LIBRARY = re.compile(r"^lib(cuda|cudart|cublas|cufft|curand|cusparse|cusolver|nccl|nv)", re.I)


# ---- installing -----------------------------------------------------------------------------


def uv_version() -> str:
    """The uv pinned in the Makefile; the Dockerfile must pin the same."""
    match = re.search(r"^UV_VERSION\s*:=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)
    if not match:
        raise SystemExit("no UV_VERSION in the Makefile")
    return match.group(1)


def dockerfile_uv_version() -> str | None:
    try:
        match = re.search(r"^ARG UV_VERSION=(\S+)", DOCKERFILE.read_text(), re.M)
    except OSError:
        return None
    return match.group(1) if match else None


@dataclass
class Install:
    """The runtime venv (pruned, as in the image) and what its site-packages held before."""

    venv: Path
    site: Path
    raw_bytes: int  # as installed: the lock unpruned, plus the project
    raw_dists: list[dict[str, Any]]  # the lock's distributions before the prune step
    prune_output: list[str]


def install(workdir: Path, version: str) -> Install:
    """Build the runtime venv as the Dockerfile does, measuring it before the prune step."""
    tools, runtime = workdir / "tools", workdir / "venv"
    _run([sys.executable, "-m", "venv", str(tools)])
    pip = [_bin(tools, "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, f"uv=={version}"])
    uv = _bin(tools, "uv")
    _run([sys.executable, "-m", "venv", "--without-pip", str(runtime)])
    python = _bin(runtime, "python")
    _run([uv, "pip", "sync", "--quiet", "--python", python, str(LOCK)])
    found = list(runtime.glob("lib/python*/site-packages"))
    if len(found) != 1:
        raise SystemExit(f"expected one site-packages in {runtime}, found {found}")
    site = found[0]
    synced, raw_dists = tree_bytes(site), distributions(site)
    # /bin/sh, as the Dockerfile's RUN: its output says what each class of files weighed.
    print(f"$ sh {PRUNE.relative_to(ROOT)} {site}", flush=True)
    pruned = subprocess.run(
        ["sh", str(PRUNE), str(site)], check=True, capture_output=True, text=True
    )
    print(pruned.stdout, end="", flush=True)
    before_project = tree_bytes(site)
    _run([uv, "pip", "install", "--quiet", "--python", python, "--no-deps", str(_context(workdir))])
    # The project is installed after the prune step, so it is in the raw size as it is.
    project = tree_bytes(site) - before_project
    output = pruned.stdout.replace(str(runtime), "<venv>").splitlines()  # no temporary path
    return Install(runtime, site, synced + project, raw_dists, output)


def _context(workdir: Path) -> Path:
    """The files the Dockerfile copies (building in the repo would leave build/ behind)."""
    source = workdir / "src"
    source.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", source)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("contract", "common", "training"):
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    return source


def _bin(venv: Path, name: str) -> str:
    return str(venv / "bin" / name)


def _run(command: list[str]) -> None:
    print("$", " ".join(Path(c).name if i == 0 else c for i, c in enumerate(command)), flush=True)
    subprocess.run(command, check=True)


# ---- measuring ------------------------------------------------------------------------------


def tree_bytes(path: Path) -> int:
    """Apparent size of every regular file below path (what an image layer stores)."""
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def distributions(site: Path) -> list[dict[str, Any]]:
    """Each installed distribution with the bytes of the files its RECORD lists."""
    found = []
    for info in sorted(site.glob("*.dist-info")):
        name, version = _name_version(info)
        files = _recorded_files(site, info)
        found.append(
            {
                "name": name,
                "version": version,
                "bytes": sum(f.lstat().st_size for f in files),
                "cuda_files": sorted(f.name for f in files if CUDA_LIBRARY.match(f.name)),
            }
        )
    return sorted(found, key=lambda d: -d["bytes"])


def _name_version(info: Path) -> tuple[str, str]:
    fields: dict[str, str] = {}
    for line in (info / "METADATA").read_text(errors="replace").splitlines():
        if not line:
            break  # the headers end at the first blank line
        key, _, value = line.partition(": ")
        fields.setdefault(key, value)
    return fields.get("Name", info.name), fields.get("Version", "?")


def _recorded_files(site: Path, info: Path) -> list[Path]:
    files = []
    for line in (info / "RECORD").read_text().splitlines():
        relative = line.rsplit(",", 2)[0]
        path = (site / relative).resolve()
        # Scripts in bin/ are outside site-packages; the goal is about site-packages.
        if path.is_relative_to(site.resolve()) and path.is_file():
            files.append(path)
    return files


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
        if match:
            pins[_normal(match.group(1))] = match.group(2)
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def compare_with_lock(dists: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Differences between the lock and what is installed (the project itself aside)."""
    pins = lock_pins()
    installed = {_normal(d["name"]): d["version"] for d in dists}
    installed.pop("slack-automl", None)
    return {
        "missing": sorted(f"{n}=={v}" for n, v in pins.items() if n not in installed),
        "extra": sorted(f"{n}=={v}" for n, v in installed.items() if n not in pins),
        "other_version": sorted(
            f"{n}: lock {v}, installed {installed[n]}"
            for n, v in pins.items()
            if n in installed and installed[n] != v
        ),
    }


def cuda_findings(dists: list[dict[str, Any]]) -> list[str]:
    findings = [f"package {d['name']}" for d in dists if CUDA_NAME.search(d["name"])]
    findings += [f"{d['name']}: {f}" for d in dists for f in d["cuda_files"]]
    return findings


def dockerfile_prunes() -> bool:
    """Whether the Dockerfile runs the prune script this benchmark measured."""
    try:
        return f"sh /src/training/{PRUNE.name}" in DOCKERFILE.read_text()
    except OSError:
        return False


# ---- the pruned venv at work ----------------------------------------------------------------

# Run by the pruned venv's Python: where `training` comes from, whether pyarrow is importable,
# and whether the training extra's libraries still import.
PROBE = """
import importlib, json
import training
found = {"training": training.__file__, "pyarrow": None, "broken_imports": {}}
try:
    import pyarrow
except ImportError as error:
    found["pyarrow"] = f"{type(error).__name__}: {error}"
for name in %r:
    try:
        importlib.import_module(name)
    except Exception as error:
        found["broken_imports"][name] = f"{type(error).__name__}: {error}"
print(json.dumps(found))
"""
# The import names of the training extra in pyproject.toml.
TRAINING_MODULES = (
    "flaml",
    "lightgbm",
    "xgboost",
    "sklearn",
    "scipy",
    "numpy",
    "pandas",
    "fastparquet",
    "openpyxl",
    "joblib",
    "plotly",
    "kaleido",
    "sweetviz",
    "matplotlib",
)


def _job_env() -> dict[str, str]:
    """The image's environment: the installed package only (no PYTHONPATH), no bytecode files."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    return env


def probe(inst: Install, workdir: Path) -> dict[str, Any]:
    print("$ python -c PROBE", flush=True)
    done = subprocess.run(
        [_bin(inst.venv, "python"), "-c", PROBE % (TRAINING_MODULES,)],
        cwd=workdir,
        env=_job_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    found = json.loads(done.stdout.strip().splitlines()[-1])
    site = inst.site.resolve()
    found["training_from_site_packages"] = Path(found["training"]).resolve().is_relative_to(site)
    return found


def smoke_job(inst: Install, workdir: Path) -> dict[str, Any]:
    """`python -m training run SPEC` with the pruned venv on the sample file, outside the repo."""
    home = workdir / "smoke"
    home.mkdir()
    out = home / "run"
    spec = {
        "job_id": "install-size-smoke",
        "dataset_uri": str(SAMPLE),
        "file_name": SAMPLE.name,
        "target": SMOKE_TARGET,
        "time_budget_s": SMOKE_BUDGET_S,
        "output_uri": str(out),
    }
    spec_path = home / "spec.json"
    spec_path.write_text(json.dumps(spec, indent=2))
    print(f"$ python -m training run {spec_path}  (cwd {home})", flush=True)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [_bin(inst.venv, "python"), "-m", "training", "run", str(spec_path)],
            cwd=home,
            env=_job_env(),
            capture_output=True,
            text=True,
            timeout=SMOKE_TIMEOUT_S,
            check=False,
        )
        exit_code: int | None = done.returncode
        stderr = done.stderr
    except subprocess.TimeoutExpired as error:
        exit_code = None
        stderr = error.stderr.decode(errors="replace") if error.stderr else ""
    seconds = time.perf_counter() - started
    result_file = out / "result.json"
    result = json.loads(result_file.read_text()) if result_file.is_file() else {}
    artifacts = result.get("artifacts") or {}
    charts = [c["path"] for c in artifacts.get("charts", [])]
    report = artifacts.get("report")
    notes = result.get("notes", [])
    return {
        "spec": {k: v for k, v in spec.items() if k not in ("dataset_uri", "output_uri")},
        "exit_code": exit_code,
        "seconds": round(seconds, 1),
        "status": result.get("status"),
        "error": result.get("error"),
        "best_estimator": result.get("best_estimator"),
        "trials": result.get("trials"),
        "holdout_metrics": result.get("holdout_metrics", {}),
        "charts": charts,
        "charts_missing": [c for c in charts if not (out / c).is_file()],
        "report": report,
        "report_present": report is not None and (out / report).is_file(),
        "report_notes": [n for n in notes if "report" in n.lower()],
        "notes": notes,
        # What went wrong, when something did (never a whole log).
        "stderr_tail": [] if exit_code == 0 else stderr.strip().splitlines()[-15:],
    }


def smoke_ok(smoke: dict[str, Any]) -> bool:
    return (
        smoke["exit_code"] == 0
        and smoke["status"] == "succeeded"
        and bool(smoke["charts"])
        and not smoke["charts_missing"]
        and (smoke["report_present"] or bool(smoke["report_notes"]))
    )


def smoke_summary(smoke: dict[str, Any]) -> str:
    charts = f"{len(smoke['charts']) - len(smoke['charts_missing'])}/{len(smoke['charts'])} charts"
    if smoke["report_present"]:
        report = smoke["report"]
    else:
        report = "no report (" + ("; ".join(smoke["report_notes"]) or "and no note why") + ")"
    return (
        f"exit code {smoke['exit_code']}, status {smoke['status']}, {charts}, {report}, "
        f"{smoke['seconds']} s"
    )


# ---- reporting ------------------------------------------------------------------------------


def _mb(size: int) -> float:
    return round(size / MB, 1)


def measure(inst: Install, version: str, seconds: float) -> dict[str, Any]:
    dists = distributions(inst.site)
    total = tree_bytes(inst.site)
    owned = sum(d["bytes"] for d in dists)
    raw = {d["name"]: d["bytes"] for d in inst.raw_dists}
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": ".".join(map(str, sys.version_info[:3])),
        "uv": version,
        "dockerfile_uv": dockerfile_uv_version(),
        "dockerfile_prunes": dockerfile_prunes(),
        "install_s": round(seconds, 1),
        "raw_site_packages_mb": _mb(inst.raw_bytes),
        "pruned_site_packages_mb": _mb(total),
        "prune_output": inst.prune_output,
        "not_in_any_record_mb": _mb(total - owned),
        "distributions": len(dists),
        "biggest": [
            {
                "name": d["name"],
                "version": d["version"],
                "mb": _mb(d["bytes"]),
                "raw_mb": _mb(raw.get(d["name"], d["bytes"])),
            }
            for d in dists[:TOP]
        ],
        "lock_differences": compare_with_lock(dists),
        "cuda": cuda_findings(inst.raw_dists),
        "goal_mb": GOAL_MB,
    }


def goals(report: dict[str, Any]) -> list[tuple[str, bool]]:
    differences = report["lock_differences"]
    venv = report["venv_probe"]
    pyarrow = venv.get("pyarrow") or ""
    smoke = report["smoke_job"]
    return [
        (
            f"site-packages after the prune script under {GOAL_MB:.0f} MB "
            f"({report['pruned_site_packages_mb']} MB; raw {report['raw_site_packages_mb']} MB)",
            report["pruned_site_packages_mb"] < GOAL_MB,
        ),
        ("no CUDA/NVIDIA packages or libraries", not report["cuda"]),
        ("installed set is exactly requirements/training.lock", not any(differences.values())),
        (
            f"`import pyarrow` fails in the venv ({pyarrow or 'it imports'})",
            pyarrow.startswith("ModuleNotFoundError"),
        ),
        (
            "the training extra's libraries import after pruning"
            + (f" (broken: {venv.get('broken_imports') or venv})" if not _imports_ok(venv) else ""),
            _imports_ok(venv),
        ),
        (
            "the job runs the installed package, not the repository's",
            bool(venv.get("training_from_site_packages")),
        ),
        (
            f"smoke job with the pruned venv on samples/churn.csv: {smoke_summary(smoke)}",
            smoke_ok(smoke),
        ),
        (
            f"Dockerfile pins the Makefile's uv ({report['uv']})",
            report["dockerfile_uv"] == report["uv"],
        ),
        (f"Dockerfile runs training/{PRUNE.name}", report["dockerfile_prunes"]),
    ]


def _imports_ok(venv: dict[str, Any]) -> bool:
    return "broken_imports" in venv and not venv["broken_imports"]


def markdown(report: dict[str, Any]) -> str:
    smoke = report["smoke_job"]
    lines = [
        "# Training image: installed size of the Python dependencies",
        "",
        f"`python benchmarks/install_size.py`, {report['date']}: uv {report['uv']} "
        f"`pip sync` of requirements/training.lock into an empty Python {report['python']} "
        f"venv (no pip), training/{PRUNE.name} on its site-packages, then the project with "
        "--no-deps, as training/Dockerfile does. MB = 2^20 bytes, apparent file sizes.",
        "",
        f"site-packages: **{report['pruned_site_packages_mb']} MB** after the prune script "
        f"(what the image holds), {report['raw_site_packages_mb']} MB as installed; "
        f"{report['distributions']} distributions ({report['not_in_any_record_mb']} MB in no "
        "RECORD).",
        "",
        "| # | distribution | version | MB | MB as installed |",
        "|---|---|---|---|---|",
    ]
    for rank, d in enumerate(report["biggest"], start=1):
        lines.append(f"| {rank} | {d['name']} | {d['version']} | {d['mb']} | {d['raw_mb']} |")
    lines += ["", f"What training/{PRUNE.name} removed:", "", "```"]
    lines += report["prune_output"]
    lines += ["```", "", "## Smoke job with the pruned venv", ""]
    lines += [
        f"`python -m training run spec.json`, {json.dumps(smoke['spec'])}, from a temporary "
        "folder without PYTHONPATH (the installed package):",
        "",
        f"- {smoke_summary(smoke)}",
        f"- best estimator {smoke['best_estimator']} after {smoke['trials']} trials; holdout "
        + ", ".join(f"{k} {v:.3f}" for k, v in smoke["holdout_metrics"].items()),
    ]
    lines += [f"- chart: {c}" for c in smoke["charts"]]
    lines += [f"- note: {n}" for n in smoke["notes"]]
    if smoke["error"]:
        lines += [f"- error: {json.dumps(smoke['error'])}"]
    if smoke["stderr_tail"]:
        lines += ["", "stderr (end):", "", "```", *smoke["stderr_tail"], "```"]
    lines += ["", "## Checks", ""]
    lines += [f"- **{'PASS' if ok else 'FAIL'}** {name}" for name, ok in goals(report)]
    if report["cuda"]:
        lines += ["", "CUDA/NVIDIA findings: " + ", ".join(report["cuda"])]
    return "\n".join(lines) + "\n"


def main() -> int:
    version = uv_version()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="automl-install-size-") as tmp:
        inst = install(Path(tmp), version)
        report = measure(inst, version, time.perf_counter() - started)
        report["venv_probe"] = probe(inst, Path(tmp))
        report["smoke_job"] = smoke_job(inst, Path(tmp))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "install_size.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (RESULTS / "install_size.md").write_text(text)
    print("\n" + text)
    return 0 if all(ok for _, ok in goals(report)) else 1


if __name__ == "__main__":
    sys.exit(main())
