"""The `automl` command.

`train` and `predict` run the training engine in this process; the Slack-facing commands
come with the bot. Heavy modules are imported inside the command that needs them.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from common.logs import JSON, add_secrets, configure_logging
from contract import exit_codes
from contract.tasks import REQUESTED_TASKS

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.runtime import Bot
    from bot.settings import Settings

DEFAULT_DATA_DIR = "automl-data"
# Commands that run a server: their log is all an operator has, so INFO, as JSON lines.
SERVER_COMMANDS = ("serve", "socket")

log = logging.getLogger("bot.cli")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command in SERVER_COMMANDS:
        configure_logging(level=logging.INFO, output=JSON)
    else:  # a person at the terminal; the run's log file records INFO, not the terminal
        configure_logging("%(levelname)s %(name)s: %(message)s", stderr_level=logging.WARNING)
    return int(args.handler(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="automl", description="Train models on a table with FLAML; talk to it from Slack."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a model on a CSV, TSV, Excel or Parquet file")
    train.add_argument("data", type=Path, help="the table to learn from")
    train.add_argument("--target", required=True, help="the column to predict")
    train.add_argument("--task", choices=REQUESTED_TASKS, default="auto")
    train.add_argument("--metric", default="auto", help="e.g. roc_auc, log_loss, accuracy, r2")
    train.add_argument(
        "--time-budget",
        type=_duration,
        default=60,
        metavar="SECONDS",
        help="the most the whole job may take: 90, 90s, 5m (default 60)",
    )
    train.add_argument("--exclude", default="", help="columns to leave out, comma-separated")
    train.add_argument(
        "--keep",
        default="",
        help="columns to use even where they would be left out (ids, suspected leaks), "
        "comma-separated",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", type=Path, help="the run folder (default automl-data/runs/ID)")
    train.add_argument("--no-report", action="store_true", help="skip the Sweetviz EDA report")
    train.set_defaults(handler=_train)

    predict = commands.add_parser("predict", help="predict with a trained model")
    predict.add_argument("run_dir", type=Path, help="the folder of a finished run")
    predict.add_argument("data", type=Path, help="a table with the same columns")
    predict.add_argument("-o", "--output", type=Path, help="CSV to write (default: stdout)")
    predict.add_argument(
        "--trust-unsigned",
        action="store_true",
        help="load a model this installation did not sign (models are code: only from "
        "runs you trust)",
    )
    predict.set_defaults(handler=_predict)

    serve = commands.add_parser(
        "serve", help="run the Slack bot as a web app (POST /slack/events, /health, links)"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)",
    )
    serve.add_argument("--port", type=int, default=3000)
    serve.set_defaults(handler=_serve)

    socket = commands.add_parser(
        "socket", help="run the Slack bot over Socket Mode (no public URL needed)"
    )
    socket.add_argument("--host", default="127.0.0.1", help="address for the report links")
    socket.add_argument("--port", type=int, default=3000)
    socket.set_defaults(handler=_socket)

    shell = commands.add_parser(
        "shell", help="talk to the bot in this terminal, with no Slack (a console adapter)"
    )
    shell.set_defaults(handler=_shell)
    return parser


def _duration(text: str) -> int:
    """`90`, `90s`, `5m`, `1h30m` -> seconds: the same reading as `time=` in Slack."""
    from bot.command_parser import CommandError, parse_duration

    try:
        return parse_duration(text)
    except CommandError as error:
        raise argparse.ArgumentTypeError(f"not a duration: {error.problem}") from None


def _train(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from bot.command_parser import column_choice_problem, split_columns
    from bot.jobs import new_job_id
    from contract.jobs import JobSpec
    from contract.run_folder import RUNS_DIR

    job_id = new_job_id()
    data_dir = Path(os.environ.get("AUTOML_DATA_DIR", DEFAULT_DATA_DIR))
    out = args.out or data_dir / RUNS_DIR / job_id
    if not args.data.is_file():
        print(f"error: there is no file at {args.data}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    exclude, keep = split_columns(args.exclude), split_columns(args.keep)
    found = column_choice_problem(args.target, exclude, keep)
    if found is not None:
        print(f"error: {found[1]}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    try:
        spec = JobSpec(
            job_id=job_id,
            dataset_uri=str(args.data.resolve()),
            file_name=args.data.name,
            target=args.target,
            task=args.task,
            metric=args.metric,
            time_budget_s=args.time_budget,
            exclude_columns=list(exclude),
            keep_columns=list(keep),
            seed=args.seed,
            output_uri=str(out.resolve()),
        )
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        print(f"error: {problems}", file=sys.stderr)
        return exit_codes.BAD_INPUT

    from training.outputs.terminal import ProgressDisplay, ResultsPrinter
    from training.run import RunOptions, run_job

    # The summary is printed when the results are out, before an EDA report that follows them.
    printer = ResultsPrinter(str(out))
    options = RunOptions(sinks=[ProgressDisplay(), printer], report=not args.no_report)
    result = run_job(spec, options)
    _sign_model(out, job_id, result.artifacts.model_sha256)
    if not printer.printed:
        printer.print_summary(result)
    return exit_codes.for_result(result)


def _predict(args: argparse.Namespace) -> int:
    from bot.model_signature import ModelNotTrusted
    from contract.run_folder import MODEL_FILE
    from training.errors import InputError
    from training.input.reading import read_table
    from training.outputs.spreadsheet import safe_frame
    from training.pipeline.model import TrainedModel

    try:
        model_path = args.run_dir / MODEL_FILE
        unchecked = args.trust_unsigned or not model_path.exists()  # load says what is missing
        sha256 = None if unchecked else _signed_sha256(args.run_dir)
    except ModelNotTrusted as refused:
        print(f"error: {refused}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    try:
        model = TrainedModel.load(model_path, sha256=sha256)
        if not args.data.is_file():
            raise InputError("file_not_found", f"There is no file at {args.data}.")
        frame = read_table(args.data, args.data.name)
        warnings = model.check_rows(frame)  # refuses a file without the columns it needs
        predictions = model.scored_table(frame, warnings.sentences)
        clash = {c: f"{c} (predicted)" for c in predictions.columns if c in frame.columns}
        # Opened in spreadsheets: formula-like cells made inert.
        table = safe_frame(frame.join(predictions.rename(columns=clash)))
    except InputError as error:
        print(f"error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"  {error.hint}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    for sentence in warnings.sentences:
        print(f"warning: {sentence}", file=sys.stderr)
    if args.output:
        table.to_csv(args.output, index=False)
        print(f"Wrote {len(table)} predictions to {args.output}", file=sys.stderr)
    else:
        table.to_csv(sys.stdout, index=False)
    return exit_codes.SUCCEEDED


def _sign_model(run_dir: Path, job_id: str, sha256: str | None) -> None:
    """Sign the model `automl train` made with this user's key, so `predict` will load it."""
    from bot.model_signature import local_key, signature
    from common.files import write_atomically
    from contract.run_folder import MODEL_SIGNATURE_FILE

    key = local_key(create=True)
    if sha256 and key:
        write_atomically(run_dir / MODEL_SIGNATURE_FILE, signature(job_id, sha256, key))


def _signed_sha256(run_dir: Path) -> str:
    """The model's SHA-256 as this installation signed it; `ModelNotTrusted` otherwise."""
    from bot.model_signature import installation_keys, signed_sha256
    from contract.run_folder import MODEL_SIGNATURE_FILE

    try:
        record: bytes | None = (run_dir / MODEL_SIGNATURE_FILE).read_bytes()
    except FileNotFoundError:
        record = None
    return signed_sha256(record, installation_keys())


# ---- the bot -------------------------------------------------------------------------------


def _settings(mode: str) -> Settings | None:
    from bot.settings import SettingsError, load_settings

    try:
        return load_settings(require=mode)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def _started_bot(settings: Settings) -> Bot:
    """The bot, running; Slack's secrets, wherever they were read from, kept out of its log."""
    from bot.runtime import build_bot

    add_secrets(
        *(
            secret.get_secret_value()
            for secret in (
                settings.slack_bot_token,
                settings.slack_signing_secret,
                settings.slack_app_token,
            )
            if secret is not None
        )
    )
    bot = build_bot(settings)
    bot.start()
    return bot


def _web_app(bot: Bot) -> FastAPI:
    from bot.web import create_web_app, served_links

    settings = bot.settings
    return create_web_app(
        bot.app,
        bot.signing_secret,
        served_links(bot.backend.artifacts),
        max_body_bytes=settings.max_request_kb * 1024,
        body_timeout_s=settings.request_timeout_s,
    )


def _serve(args: argparse.Namespace) -> int:
    settings = _settings("serve")
    if settings is None:
        return exit_codes.BAD_INPUT
    import uvicorn

    from bot.http_server import server_options

    bot = _started_bot(settings)
    log.info(
        "AutoML bot on http://%s:%s; Slack's request URL is %s/slack/events",
        args.host,
        args.port,
        settings.public_url,
    )
    try:
        uvicorn.run(
            _web_app(bot),
            host=args.host,
            port=args.port,
            log_level="warning",
            log_config=None,  # its records go to the root logger: the same lines
            **server_options(settings),
        )
    finally:
        bot.close()  # running trainings go on; the next start picks them up
    return exit_codes.SUCCEEDED


def _socket(args: argparse.Namespace) -> int:
    settings = _settings("socket")
    if settings is None:
        return exit_codes.BAD_INPUT
    import threading

    import uvicorn
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.http_server import server_options

    bot = _started_bot(settings)
    # Slack talks over the socket; people still open report links over HTTP.
    server = uvicorn.Server(
        uvicorn.Config(
            _web_app(bot),
            host=args.host,
            port=args.port,
            log_level="warning",
            log_config=None,  # its records go to the root logger: the same lines
            **server_options(settings),
        )
    )
    threading.Thread(target=server.run, name="links", daemon=True).start()
    assert settings.slack_app_token is not None
    log.info("AutoML bot connected over Socket Mode; links served on %s", settings.public_url)
    try:
        SocketModeHandler(bot.app, settings.slack_app_token.get_secret_value()).start()
    except KeyboardInterrupt:
        pass
    finally:
        server.should_exit = True
        bot.close()
    return exit_codes.SUCCEEDED


def _shell(args: argparse.Namespace) -> int:
    settings = _settings("shell")
    if settings is None:
        return exit_codes.BAD_INPUT
    from bot.console.shell import run_console

    return run_console(settings)


if __name__ == "__main__":
    sys.exit(main())
