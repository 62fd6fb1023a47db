"""What `automl train` shows on a terminal: a progress line while it runs, a summary when the
results are out, and where the EDA report is when it follows them."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO

from contract.jobs import (
    AnyEvent,
    ClassMetrics,
    FinishedEvent,
    JobResult,
    ProgressEvent,
    ReportEvent,
    StartedEvent,
    SuspectedLeak,
)
from contract.metrics import metric_label
from contract.wording import classes_shown, leak_sentence, model_name, threshold_sentence

BAR_WIDTH = 24


class ProgressDisplay:
    """An event sink. On a terminal it redraws one line; elsewhere it prints a line per event."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self._drawn = False
        self._last_line = ""
        self._started = time.monotonic()

    def __call__(self, event: AnyEvent) -> None:
        if isinstance(event, StartedEvent):
            self._print(f"Training on {event.file_name} (budget {event.time_budget_s}s)")
        elif isinstance(event, ProgressEvent):
            self._draw(progress_line(event))
        else:
            self._end_line()

    def _draw(self, line: str) -> None:
        if self.live:
            self.stream.write("\r\033[K" + line)
            self._drawn = True
        elif line != self._last_line:
            self.stream.write(line + "\n")
        self._last_line = line
        self.stream.flush()

    def _print(self, line: str) -> None:
        self._end_line()
        self.stream.write(line + "\n")
        self.stream.flush()

    def _end_line(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self._drawn = False


class ResultsPrinter:
    """An event sink: the summary as soon as the results are out (`finished`: read from its
    result.json), then where the EDA report is when it follows them (`report`)."""

    def __init__(
        self, run_dir: str, stdout: IO[str] | None = None, stderr: IO[str] | None = None
    ) -> None:
        self.run_dir = run_dir
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.printed = False  # the summary was printed

    def __call__(self, event: AnyEvent) -> None:
        if isinstance(event, FinishedEvent):
            result = JobResult.model_validate_json(Path(event.result_path).read_bytes())
            self.print_summary(result)
        elif isinstance(event, ReportEvent):
            print(report_line(event, self.run_dir), file=self.stdout, flush=True)

    def print_summary(self, result: JobResult) -> None:
        stream = self.stdout if result.status != "failed" else self.stderr
        print(summary(result, self.run_dir), file=stream, flush=True)
        self.printed = True


def report_line(event: ReportEvent, run_dir: str) -> str:
    """The line that follows the summary when the EDA report was made after the results."""
    if event.report:
        return f"EDA report:  {run_dir}/{event.report}"
    return event.note or "The EDA report could not be made."


def progress_line(event: ProgressEvent) -> str:
    share = min(event.elapsed_s / event.budget_s, 1.0) if event.budget_s else 0.0
    filled = round(share * BAR_WIDTH)
    bar = "█" * filled + "░" * (BAR_WIDTH - filled)
    line = f"{bar} {event.elapsed_s:5.0f}s/{event.budget_s:.0f}s  {event.stage:<8}"
    if event.trials:
        line += f" {event.trials} trials"
    if event.best_estimator and event.best_score is not None:
        metric = metric_label(event.metric or "")
        line += f"  best {event.best_estimator} {metric} {event.best_score:.4f}"
    return line


def summary(result: JobResult, run_dir: str) -> str:
    """The end of a run for a person: what happened, the leaderboard, where the files are."""
    lines: list[str] = []
    if result.error is not None:
        lines.append(f"Training failed: {result.error.message}")
        if result.error.hint:
            lines.append(f"  {result.error.hint}")
        lines.append(f"Details: {run_dir}/result.json")
        return "\n".join(lines)
    status = "Stopped early (interrupted)" if result.status == "interrupted" else "Done"
    total = result.timings_s.get("total", 0.0)
    lines.append(
        f"{status} in {total:.0f}s: {result.task} of “{result.target}” on {result.rows_used} rows, "
        f"{result.trials} trials{' (converged early)' if result.stopped_early else ''}."
    )
    # A leak makes every score below too good to be true: say so before them.
    if result.suspected_leaks:
        lines += ["", *[leak_line(leak) for leak in result.suspected_leaks]]
    if result.leaderboard:
        lines += ["", _leaderboard_table(result)]
    if result.holdout_metrics:
        shown = ", ".join(
            f"{metric_label(k)} {v:.4f}" for k, v in result.holdout_metrics.items() if k != "mse"
        )
        lines += ["", f"Holdout ({result.holdout_rows} rows never seen in training): {shown}"]
    if result.decision_threshold is not None:
        lines += ["", threshold_sentence(result.decision_threshold)]
    if result.class_metrics:
        lines += ["", *_class_metrics_lines(result.class_metrics)]
    if result.explanations is not None:
        lines += ["", "What drives the predictions:"]
        lines += [f"  {sentence}" for sentence in result.explanations.sentences]
    if result.dropped_columns:
        lines += ["", "Columns left out:"]
        lines += [f"  {d.name}: {d.reason}" for d in result.dropped_columns]
    if result.notes:
        lines += ["", *[f"Note: {n}" for n in result.notes]]
    lines += ["", *_artifact_lines(result, run_dir)]
    return "\n".join(lines)


def _leaderboard_table(result: JobResult) -> str:
    metric = metric_label(result.metric or "")
    header = ("#", "model", f"validation {metric}", "train time", "trials")
    rows = [
        (
            str(r.rank),
            model_name(r),
            f"{r.validation_score:.4f}" if r.validation_score is not None else "not tried",
            f"{r.train_time_s:.1f}s" if r.train_time_s is not None else "",
            str(r.trials),
        )
        for r in result.leaderboard
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*row) for row in [header, *rows])


def leak_line(leak: SuspectedLeak) -> str:
    return "⚠️ " + leak_sentence(
        leak, code=lambda column: f"`{column}`", option=lambda name, value: f"`--{name} {value}`"
    )


def _class_metrics_lines(metrics: list[ClassMetrics]) -> list[str]:
    shown = classes_shown(metrics)
    title = "Per class on the holdout rows"
    if len(shown) < len(metrics):
        title += f" (the {len(shown)} largest of {len(metrics)} classes)"
    width = max(len("class"), *(len(m.label) for m in shown))
    rows = max(len("rows"), *(len(str(m.support)) for m in shown))
    lines = [f"{title}:", f"  {'class':<{width}}  precision  recall  {'rows':>{rows}}"]
    lines += [
        f"  {m.label:<{width}}  {m.precision:>9.2f}  {m.recall:>6.2f}  {m.support:>{rows}}"
        for m in shown
    ]
    return lines


def _artifact_lines(result: JobResult, run_dir: str) -> list[str]:
    art = result.artifacts
    lines = []
    if art.model:
        lines.append(f"Model:       {run_dir}/{art.model}")
    if art.report:
        lines.append(f"EDA report:  {run_dir}/{art.report}")
    elif result.report_pending:
        lines.append("EDA report:  being made; its path follows when it is ready")
    if art.leaderboard_csv:
        lines.append(f"Leaderboard: {run_dir}/{art.leaderboard_csv}")
    for chart in art.charts:
        lines.append(f"Chart:       {run_dir}/{chart.path}  ({chart.title})")
    lines.append(f"Result:      {run_dir}/result.json")
    return lines
