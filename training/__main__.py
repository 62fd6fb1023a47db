"""The container's entry point: `python -m training run SPEC.json`.

Events go to stdout as JSON lines (the local runner reads them); logs go to stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pydantic import ValidationError

from training import exit_codes
from training.contracts import JobSpec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the training job described by a spec.json")
    run.add_argument("spec", type=Path)
    args = parser.parse_args(argv)

    logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # the run's log file records INFO, not stderr
        handler.setLevel(logging.WARNING)
    try:
        spec = JobSpec.model_validate_json(args.spec.read_bytes())
    except OSError as error:
        print(f"error: cannot read the spec {args.spec}: {error.strerror}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except ValidationError as error:
        print(f"error: {args.spec} is not a valid job spec:\n{error}", file=sys.stderr)
        return exit_codes.BAD_INPUT

    from training.events import JsonLinesSink
    from training.run import RunOptions, run_job

    result = run_job(spec, RunOptions(sinks=[JsonLinesSink.to_stdout()]))
    return exit_codes.for_result(result)


if __name__ == "__main__":
    sys.exit(main())
