"""Import time of the bot's web entry point, `bot.web`, in a fresh interpreter.

A cold start (a new Lambda sandbox, a restarted `automl serve`) imports the web app before it
can acknowledge anything, inside Slack's 3 seconds. Each run is a new interpreter of this
environment (`sys.executable`, i.e. .venv/bin/python) started in the repository:

1. `--repeats` runs (default 7) time `import bot.web` inside the child with
   `time.perf_counter()` and list which of pandas, numpy, flaml, plotly and sklearn ended up
   in `sys.modules` (none may); interleaved with them, as many runs of a bare interpreter
   (`-c pass`) and of the whole `-c "import bot.web"` process give the start-up around it;
2. `--importtime-runs` runs (default 5) with `-X importtime`: per module, the median of its
   cumulative and self microseconds; the 10 modules with the most cumulative time, and the
   top-level packages by the self time of all their modules (what cutting one would save).

One run first, not counted, so the bytecode caches are written and every counted run reads
them (as a deployed bundle does).

    python benchmarks/bot_import.py [--repeats 7] [--importtime-runs 5]

Writes benchmarks/results/bot_import.json and bot_import.md. The goal (under 0.5 s) is
reported, never turned into the exit status (a shared machine is noisy); the exit status is
non-zero when a heavy module was imported or a child failed.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any

from serve_harness import HEAVY, ROOT, machine, markdown_table

RESULTS = ROOT / "benchmarks" / "results"
MODULE = "bot.web"
GOAL_S = 0.5
TOP = 10
CHILD = f"""\
import json, sys, time
started = time.perf_counter()
import {MODULE}
seconds = time.perf_counter() - started
heavy = sorted({{name.split(".")[0] for name in sys.modules}} & {set(HEAVY)!r})
print(json.dumps({{"seconds": seconds, "heavy": heavy, "modules": len(sys.modules)}}))
"""
LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


def python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def wall(*args: str) -> float:
    started = time.perf_counter()
    done = python(*args)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{args} failed:\n{done.stderr[-2000:]}")
    return seconds


def timed_import() -> dict[str, Any]:
    done = python("-c", CHILD)
    if done.returncode != 0:
        raise RuntimeError(f"importing {MODULE} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def importtime() -> dict[str, dict[str, int]]:
    """module -> {self_us, cumulative_us, depth} of `import MODULE` and all it imported.

    `-X importtime` prints a module after the modules it imported (indented one step deeper),
    so MODULE's subtree is the run of indented lines just above its own unindented line; the
    interpreter's start-up imports (site, encodings, ...) come before that and are left out.
    """
    done = python("-X", "importtime", "-c", f"import {MODULE}")
    if done.returncode != 0:
        raise RuntimeError(f"importing {MODULE} failed:\n{done.stderr[-2000:]}")
    lines = []
    for line in done.stderr.splitlines():
        match = LINE.match(line)
        if match:
            self_us, cumulative_us, indent, name = match.groups()
            lines.append((name, int(self_us), int(cumulative_us), len(indent) // 2))
    end = max(i for i, entry in enumerate(lines) if entry[0] == MODULE and entry[3] == 0)
    start = end
    while start > 0 and lines[start - 1][3] > 0:
        start -= 1
    return {
        name: {"self_us": self_us, "cumulative_us": cumulative_us, "depth": depth}
        for name, self_us, cumulative_us, depth in lines[start : end + 1]
    }


def median_importtime(runs: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, float]]:
    names = set().union(*runs)
    out = {}
    for name in names:
        seen = [run[name] for run in runs if name in run]
        out[name] = {
            "self_us": statistics.median(m["self_us"] for m in seen),
            "cumulative_us": statistics.median(m["cumulative_us"] for m in seen),
            "depth": seen[0]["depth"],
        }
    return out


def by_package(modules: dict[str, dict[str, float]]) -> list[tuple[str, float, int]]:
    """(top-level package, self seconds of all its modules, number of modules), biggest first."""
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for name, m in modules.items():
        top = name.split(".")[0]
        seconds[top] += m["self_us"] / 1e6
        counts[top] += 1
    return sorted(((p, s, counts[p]) for p, s in seconds.items()), key=lambda r: -r[1])


def measure(repeats: int, importtime_runs: int) -> dict[str, Any]:
    timed_import()  # not counted: writes the bytecode caches
    imports, bare, whole = [], [], []
    for i in range(repeats):  # interleaved, so a busy spell on the machine hits all three
        imports.append(timed_import())
        bare.append(wall("-c", "pass"))
        whole.append(wall("-c", f"import {MODULE}"))
        print(
            f"run {i + 1}/{repeats}: import {MODULE} {imports[-1]['seconds']:.3f} s, "
            f"whole process {whole[-1]:.3f} s, bare interpreter {bare[-1]:.3f} s",
            flush=True,
        )
    detail = median_importtime([importtime() for _ in range(importtime_runs)])
    heavy = sorted({name for run in imports for name in run["heavy"]})
    top = sorted(
        (name for name in detail if name != MODULE), key=lambda n: -detail[n]["cumulative_us"]
    )[:TOP]
    return {
        "import_s": [run["seconds"] for run in imports],
        "import_median_s": statistics.median(run["seconds"] for run in imports),
        "import_fastest_s": min(run["seconds"] for run in imports),
        "modules_loaded": statistics.median(run["modules"] for run in imports),
        "heavy_imported": heavy,
        "bare_interpreter_s": bare,
        "bare_interpreter_median_s": statistics.median(bare),
        "whole_process_s": whole,
        "whole_process_median_s": statistics.median(whole),
        "importtime_total_s": detail.get(MODULE, {}).get("cumulative_us", 0) / 1e6,
        "top_modules": [
            {
                "module": name,
                "cumulative_s": detail[name]["cumulative_us"] / 1e6,
                "self_s": detail[name]["self_us"] / 1e6,
                "depth": detail[name]["depth"],
            }
            for name in top
        ],
        "top_packages": [
            {"package": p, "self_s": s, "modules": n} for p, s, n in by_package(detail)[:TOP]
        ],
        "direct_imports": sorted(
            (
                {"module": name, "cumulative_s": m["cumulative_us"] / 1e6}
                for name, m in detail.items()
                if m["depth"] == 1
            ),
            key=lambda r: -r["cumulative_s"],
        ),
    }


def module_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        [
            str(i),
            f"`{r['module']}`",
            str(r["depth"]),
            f"{r['cumulative_s']:.3f}",
            f"{r['self_s']:.3f}",
        ]
        for i, r in enumerate(rows, 1)
    ]
    return markdown_table(["#", "module", "depth", "cumulative s", "self s"], lines)


def package_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        [str(i), f"`{r['package']}`", str(r["modules"]), f"{r['self_s']:.3f}"]
        for i, r in enumerate(rows, 1)
    ]
    return markdown_table(["#", "package", "modules", "self s (all its modules)"], lines)


NOTES = f"""\
*import*: `time.perf_counter()` around `import {MODULE}` inside the child, so the interpreter's
own start-up is not in it; *bare interpreter* and *whole process* are wall times of
`python -c pass` and `python -c "import {MODULE}"` from this process. The tables come from
`-X importtime` (runs of their own, with some overhead of their own: compare the totals);
*cumulative* counts a module with everything it imported first, so nested rows overlap
(*depth* 1 is imported by {MODULE} itself, 2 by one of those, ...); the package table sums each
module's own (*self*) time, which does not overlap."""


def write_results(env: dict[str, Any], args: argparse.Namespace, m: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    passed = m["import_median_s"] < GOAL_S
    payload = {"machine": env, "repeats": args.repeats, "importtime_runs": args.importtime_runs}
    payload |= {"goal_s": GOAL_S, "goal_passed": passed, **m}
    (RESULTS / "bot_import.json").write_text(json.dumps(payload, indent=2) + "\n")
    dirty = ", ".join(env["uncommitted_bot_files"]) or "nothing"
    heavy = ", ".join(m["heavy_imported"]) or "none"
    direct = ", ".join(
        f"`{d['module']}` {d['cumulative_s']:.3f}"
        for d in m["direct_imports"]
        if d["cumulative_s"] >= 0.001
    )
    md = [
        f"# Bot: import time of `{MODULE}`",
        "",
        f"`python benchmarks/bot_import.py`, {env['date']}, Python {env['python']}, "
        f"{env['cpus']} CPUs, load {env['load_1m']} before. Medians of {args.repeats} fresh "
        f"interpreters; the tables are medians of {args.importtime_runs} `-X importtime` runs. "
        f"Bot: commit {env['git']} plus uncommitted: {dirty}.",
        "",
        f"- import {MODULE}: **{m['import_median_s']:.3f} s** (runs: "
        + ", ".join(f"{s:.3f}" for s in m["import_s"])
        + f"); the fastest run, the least disturbed by other work on the machine: "
        f"{m['import_fastest_s']:.3f} s; {m['modules_loaded']:.0f} modules in sys.modules "
        "after it",
        f'- whole process `python -c "import {MODULE}"`: {m["whole_process_median_s"]:.3f} s; '
        f"bare interpreter: {m['bare_interpreter_median_s']:.3f} s",
        f"- `-X importtime` total for {MODULE}: {m['importtime_total_s']:.3f} s",
        f"- heavy modules imported ({', '.join(HEAVY)}): **{heavy}**",
        f"- what {MODULE} imports itself (1 ms or more), cumulative s under `-X importtime`: "
        f"{direct}",
        "",
        f"Top {TOP} modules by cumulative import time:",
        "",
        *module_table(m["top_modules"]),
        "",
        f"Top {TOP} packages by their modules' own import time:",
        "",
        *package_table(m["top_packages"]),
        "",
        NOTES,
        "",
        "## Goal",
        "",
        f"- **{'PASS' if passed else 'FAIL'}** import {MODULE} under {GOAL_S} s: "
        f"{m['import_median_s']:.3f} s",
        f"- **{'ok' if not m['heavy_imported'] else 'FAILED'}** none of {', '.join(HEAVY)} "
        f"imported: {heavy}",
        "",
    ]
    (RESULTS / "bot_import.md").write_text("\n".join(md))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=f"Import time of {MODULE}.")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--importtime-runs", type=int, default=5)
    args = parser.parse_args(argv)
    env = machine()
    m = measure(args.repeats, args.importtime_runs)
    print(
        f"\nimport {MODULE}: median {m['import_median_s']:.3f} s (goal < {GOAL_S} s), fastest "
        f"{m['import_fastest_s']:.3f} s; "
        f"whole process {m['whole_process_median_s']:.3f} s, bare interpreter "
        f"{m['bare_interpreter_median_s']:.3f} s"
    )
    print(f"heavy modules imported: {', '.join(m['heavy_imported']) or 'none'}")
    print("\n".join(["", *module_table(m["top_modules"]), "", *package_table(m["top_packages"])]))
    write_results(env, args, m)
    print(f"\nwrote {RESULTS.relative_to(ROOT)}/bot_import.json and bot_import.md")
    return 1 if m["heavy_imported"] else 0


if __name__ == "__main__":
    sys.exit(main())
