"""Charts to PNG files: `render_charts` writes each planned figure through the browser session.

Rendering never fails the run: a missing browser or a broken chart becomes a note for a person.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import time
from pathlib import Path

from common.files import write_atomically
from contract.jobs import Chart
from training.outputs.charts.alt_text import plural
from training.outputs.charts.browser import RENDER_TIMEOUT_S, SESSION, START_TIMEOUT_S
from training.outputs.charts.figures import HEIGHT, WIDTH, PlannedChart

logger = logging.getLogger(__name__)

# Drawn whatever the time: the leaderboard, the score history and the first chart of the
# holdout rows (confusion matrix or predicted against actual) come first.
MIN_CHARTS = 3

BROWSER_HINT = (
    "Install Chromium on the machine that runs the training job (Debian/Ubuntu: "
    "`apt-get install chromium`), or set BROWSER_PATH to a Chrome/Chromium executable."
)


def render_charts(
    charts: list[PlannedChart], out_dir: Path, *, deadline: float | None = None
) -> tuple[list[Chart], list[str]]:
    """Write each chart to `out_dir/<name>.png`, in order; never raises.

    Past `deadline` (time.monotonic()), the charts not yet drawn are left out, once at least
    `MIN_CHARTS` are: on a busy machine a chart can take 2 s instead of 0.2 s, and the
    person is waiting for the results. Returns the charts that were written (paths relative
    to the run folder, i.e. the parent of `out_dir`) and notes for a person about anything
    that was skipped.
    """
    if not charts:
        return [], []
    try:
        SESSION.ensure_started(timeout=START_TIMEOUT_S)
        out_dir.mkdir(parents=True, exist_ok=True)
    except Exception as exc:
        return [], [_no_browser_note(exc, len(charts))]
    done: list[Chart] = []
    notes: list[str] = []
    for position, chart in enumerate(charts):
        if deadline is not None and len(done) >= MIN_CHARTS and time.monotonic() > deadline:
            notes.append(_out_of_time_note(charts[position:]))
            break
        try:
            _render_one(chart, out_dir / f"{chart.name}.png")
        except Exception as exc:
            logger.warning("chart %s was not rendered", chart.name, exc_info=True)
            notes.append(f"The chart '{chart.title}' was skipped: {_reason(exc)}")
            if not SESSION.recover():
                notes.append(_no_browser_note(exc, len(charts) - len(done) - 1))
                break
            continue
        done.append(
            Chart(
                name=chart.name,
                path=f"{out_dir.name}/{chart.name}.png",
                title=chart.title,
                alt_text=chart.alt_text,
            )
        )
    return done, notes


def _out_of_time_note(left_out: list[PlannedChart]) -> str:
    titles = ", ".join(f"'{chart.title}'" for chart in left_out)
    count = f"{len(left_out)} chart" + ("s were" if len(left_out) > 1 else " was")
    return f"{count} left out to keep the job within its time budget: {titles}."


def warm_up_renderer() -> None:
    """Start the browser in the background now, so the first chart later costs 0.15 s, not 2 s.

    Never raises and never blocks; a failure shows up (as a note) when charts are rendered.
    """
    try:
        SESSION.start()
    except Exception:
        logger.debug("renderer warm-up failed", exc_info=True)


def stop_renderer() -> None:
    """Close the browser; called at exit, and safe to call any time."""
    SESSION.stop()


def _render_one(chart: PlannedChart, path: Path) -> None:
    started = time.perf_counter()
    figure = chart.figure.to_dict()
    width = figure["layout"].get("width", WIDTH)
    height = figure["layout"].get("height", HEIGHT)
    png = SESSION.render(figure, width=width, height=height, timeout=RENDER_TIMEOUT_S)
    if not png.startswith(b"\x89PNG"):
        raise RuntimeError("the browser returned something that is not a PNG")
    write_atomically(path, png)  # no half-written image if we are killed mid-write
    logger.info("rendered %s in %.2f s", chart.name, time.perf_counter() - started)


def _no_browser_note(exc: BaseException, count: int) -> str:
    return (
        f"{plural(count, 'chart')} could not be drawn because no headless browser could be "
        f"started ({_reason(exc)}). {BROWSER_HINT}"
    )


def _reason(exc: BaseException) -> str:
    """A short cause for a person; the libraries' own messages suggest commands we do not use."""
    name = type(exc).__name__
    if isinstance(exc, TimeoutError | concurrent.futures.TimeoutError):
        return "the browser did not answer in time"
    if name == "ChromeNotFoundError":
        where = os.environ.get("BROWSER_PATH")
        return (
            f"nothing runnable at BROWSER_PATH={where}" if where else "no Chrome or Chromium found"
        )
    if name == "BrowserFailedError":
        return "the browser closed right after it started"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{name}: {text[:200]}" if text else name
