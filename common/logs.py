"""The logging of every entry point: `automl`, `python -m training`, the warm worker, the
Lambdas.

- `configure_logging` / `configure_lambda_logging`: stderr (or the Lambda runtime's handler)
  in human text for a person at a terminal, or JSON lines for servers, Lambdas and the job
  on AWS Batch; `AUTOML_LOG_FORMAT` (json|text) and `AUTOML_LOG_LEVEL` override the default.
- `log_context`: the fields (job_id, channel, user, event) every record made inside carries,
  libraries' records included.
- Secrets are removed from every record (message, arguments, traceback) when it is made, so
  no handler (stderr, run.log, the Lambda runtime's) ever sees them.

Standard library only, besides `contract.environment` (itself standard library only): the
bot's Lambda zip and the training image both carry it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, ParamSpec, TypeVar

from contract import environment as env

# A record with its time and logger: the training job's stderr and its run.log.
TIMED_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

JSON: Final = "json"
TEXT: Final = "text"
LOG_FORMATS: Final = (JSON, TEXT)
LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# What a line may say about the unit of work it belongs to.
CONTEXT_FIELDS: Final = ("job_id", "channel", "user", "event")
# The record attribute holding the context of the moment it was made (one name that no
# `extra=` of a caller is likely to clash with; logging refuses an `extra` key already set).
CONTEXT_ATTRIBUTE: Final = "automl_context"

# Variables whose values never reach a log: Slack's (bot/settings.py) and the job's token.
SECRET_VARIABLES: Final = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    env.JOB_TOKEN,
)
REDACTED: Final = "[redacted]"
# Shorter values are not searched for: a one-letter test secret would redact every "s".
MIN_SECRET_CHARS: Final = 8

# Slack's tokens by their shape: xoxb- (bot), xoxp- (user), xoxa-, xoxe- and xoxe.xoxp-
# (rotating), xoxr-, xapp- (app-level).
_SLACK_TOKEN = re.compile(r"\b(?:xox[a-z](?:\.xox[a-z])?|xapp)-[A-Za-z0-9-]+")
# A secret in a field whose name says so: `SecretAccessKey: ...`, `secret_key='...'`,
# `"SessionToken": "..."`, `token=...`, `X-Amz-Security-Token=...` (in a presigned URL).
_SECRET_FIELD = re.compile(
    r"""(?ix)
    (?P<name>[\w-]*(?:secret_?access_?key|secret_?key|token|secret|password))
    (?P<between>["']?\s*[:=]\s*["']?)
    (?P<value>[^\s"'&,;)}\]]{8,})
    """
)
_registered: set[str] = set()

_context: ContextVar[Mapping[str, str]] = ContextVar(
    "automl_log_context", default=MappingProxyType({})
)

_process_fields: dict[str, str] = {}

_P = ParamSpec("_P")
_R = TypeVar("_R")


# ---- context --------------------------------------------------------------------------------


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Every record made inside (in this thread or task) carries `fields`, added to those of
    an enclosing context; None leaves a field as it was."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise TypeError(f"not a log context field: {', '.join(sorted(unknown))}")
    added = {name: str(value) for name, value in fields.items() if value is not None}
    token = _context.set({**_context.get(), **added})
    try:
        yield
    finally:
        _context.reset(token)


def current_log_context() -> dict[str, str]:
    return {**_process_fields, **_context.get()}


def set_process_log_context(**fields: object) -> None:
    """Fields for every record of this process, whatever its thread: for a process that is
    one unit of work (a training job), whose libraries start threads of their own."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise TypeError(f"not a log context field: {', '.join(sorted(unknown))}")
    _process_fields.clear()
    _process_fields.update({k: str(v) for k, v in fields.items() if v is not None})


def carry_log_context(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """`function` with the log context of this moment, for another thread to run.

    A `threading.Thread` starts with an empty context (contextvars are not inherited), so a
    thread started inside `log_context` logs without its fields unless its target is wrapped.
    """
    fields = current_log_context()

    def with_context(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with log_context(**fields):
            return function(*args, **kwargs)

    return with_context


# ---- secrets --------------------------------------------------------------------------------


def add_secrets(*values: str | None) -> None:
    """Values to remove from every record besides the variables' (Slack's secrets read from
    Secrets Manager or an env file)."""
    _registered.update(v for v in values if v and len(v) >= MIN_SECRET_CHARS)


def redact(text: str) -> str:
    """`text` without the known secrets' values, Slack tokens and secret-named fields' values."""
    for secret in _secret_values():
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _SLACK_TOKEN.sub(REDACTED, text)
    return _SECRET_FIELD.sub(_redacted_field, text)


def _secret_values() -> list[str]:
    values = {os.environ.get(name, "") for name in SECRET_VARIABLES} | _registered
    # Longest first: a secret that contains another is removed whole.
    return sorted((v for v in values if len(v) >= MIN_SECRET_CHARS), key=len, reverse=True)


def _redacted_field(found: re.Match[str]) -> str:
    if found["value"].startswith(REDACTED[:-1]):  # a value already redacted, up to its "]"
        return found[0]
    return f"{found['name']}{found['between']}{REDACTED}"


_TRACEBACKS = logging.Formatter()


def _prepare(record: logging.LogRecord) -> None:
    """Stamp the context on a record and take secrets out of it, as it is made."""
    setattr(record, CONTEXT_ATTRIBUTE, current_log_context())
    try:
        message = record.getMessage()
    except Exception:  # arguments that do not fit the message: both kept, as text
        message = f"{record.msg} {record.args!r}"
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        # Formatters use exc_text when it is set: the traceback is written redacted.
        record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


_UNCHECKED: Final = "(a log record withheld: it could not be checked for secrets)"
_installed: list[Callable[..., logging.LogRecord]] = []  # the factory ours wraps, once set


def install_record_hooks() -> None:
    """Every record made from now on gets `_prepare`d. A record factory, not a handler's
    filter: handlers come and go (run.log, the Lambda runtime's, pytest's) and a filter on a
    logger misses its children's records; the factory runs in the thread that logs, where
    the context is. Once per process."""
    if _installed:
        return
    base = logging.getLogRecordFactory()
    _installed.append(base)

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            _prepare(record)
        except Exception:  # never raised into the code that logs; never written unchecked
            record.msg, record.args, record.exc_info = _UNCHECKED, None, None
            record.exc_text = record.stack_info = None
        return record

    logging.setLogRecordFactory(factory)


# ---- formats --------------------------------------------------------------------------------

# A LogRecord's own attributes; any other one came from a caller's `extra=`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# Set on records by the Lambda runtime's filter (awslambdaric's LambdaLoggerFilter).
_LAMBDA_REQUEST_ID = "aws_request_id"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp (UTC, RFC 3339), level, logger, message, the
    context fields known, a caller's `extra` fields, and an exception's traceback as text.
    `level` and `timestamp` are the keys Lambda's log-level filtering reads."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": _utc_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        context = getattr(record, CONTEXT_ATTRIBUTE, None)
        if context is None:  # made before the hooks: the emitting thread's context
            context = current_log_context()
        for name in CONTEXT_FIELDS:
            value = record.__dict__.get(name, context.get(name))
            if value is not None:
                line[name] = str(value)
        request_id = record.__dict__.get(_LAMBDA_REQUEST_ID)
        if request_id:
            line["request_id"] = str(request_id)
        for name, value in record.__dict__.items():
            if name not in _STANDARD and name not in line and not _internal(name):
                line[name] = redact(value) if isinstance(value, str) else value
        if record.exc_info or record.exc_text:
            text = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
            line["exception"] = redact(text)
        if record.stack_info:
            line["stack"] = redact(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=_as_text)


def _internal(name: str) -> bool:
    return name in (CONTEXT_ATTRIBUTE, _LAMBDA_REQUEST_ID) or name.startswith("_")


def _as_text(value: object) -> str:
    return redact(str(value))


def _utc_time(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message_of(line: str) -> tuple[str, str] | None:
    """(level, message) of a JSON log line this module wrote; None for any other line."""
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("message"), str):
        return None
    return str(record.get("level", "")), record["message"]


# ---- set-up ---------------------------------------------------------------------------------


def configure_logging(
    log_format: str = TIMED_FORMAT,
    *,
    level: int | None = None,
    stderr_level: int | None = None,
    output: str = TEXT,
    from_environment: bool = True,
) -> None:
    """Log to stderr, as `logging.basicConfig` does: nothing changes where the root logger
    has handlers already.

    `output`: TEXT (lines in `log_format`, for a person) or JSON (one object per line), unless
    `AUTOML_LOG_FORMAT` says otherwise. `level`: the root logger's (None leaves it at WARNING,
    or as it is). `stderr_level`: the least a record needs to reach stderr, for a caller whose
    run log takes more (INFO) than the person at the terminal should see; it is set on every
    handler the root logger has. `AUTOML_LOG_LEVEL`, when set, is both. `from_environment`
    False: neither variable applies (a process whose stderr is read back for people).
    """
    install_record_hooks()
    chosen = _chosen_format(output) if from_environment else output
    chosen_level = _chosen_level() if from_environment else None
    if chosen_level is not None:
        level = stderr_level = chosen_level
    root = logging.getLogger()
    if not root.handlers:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setFormatter(JsonFormatter() if chosen == JSON else logging.Formatter(log_format))
        root.addHandler(stderr)
    if level is not None:
        root.setLevel(level)
    if stderr_level is not None:
        for handler in root.handlers:
            handler.setLevel(stderr_level)
    if from_environment:
        _warn_about_settings()


def configure_lambda_logging() -> None:
    """On Lambda (`AWS_LAMBDA_FUNCTION_NAME` set): the runtime's handler on the root logger
    writes JSON lines (`AUTOML_LOG_FORMAT` may say text) at `AUTOML_LOG_LEVEL`, else the
    function's application log level, else INFO. Its handler is kept (it frames each record
    as one CloudWatch event, a traceback included); only its format changes. Elsewhere (a
    test, a script importing a handler) the importer's logging is left alone."""
    if not os.environ.get(_LAMBDA_FUNCTION):
        return
    install_record_hooks()
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    text = _chosen_format(JSON) == TEXT
    for handler in root.handlers:
        handler.setFormatter(logging.Formatter(TIMED_FORMAT) if text else JsonFormatter())
    lambda_level = os.environ.get(_LAMBDA_LOG_LEVEL, "").upper()
    fallback = getattr(logging, lambda_level) if lambda_level in LEVELS else logging.INFO
    chosen = _chosen_level()
    root.setLevel(chosen if chosen is not None else fallback)
    _warn_about_settings()


_LAMBDA_FUNCTION: Final = "AWS_LAMBDA_FUNCTION_NAME"  # set by Lambda in every function
_LAMBDA_LOG_LEVEL: Final = "AWS_LAMBDA_LOG_LEVEL"  # set by Lambda from the application level


def _chosen_format(default: str) -> str:
    value = os.environ.get(env.LOG_FORMAT, "").strip().lower()
    return value if value in LOG_FORMATS else default


def _chosen_level() -> int | None:
    value = os.environ.get(env.LOG_LEVEL, "").strip().upper()
    return int(getattr(logging, value)) if value in LEVELS else None


def _warn_about_settings() -> None:
    """A variable that says nothing usable is named once, in the log it would have shaped."""
    log = logging.getLogger(__name__)
    fmt = os.environ.get(env.LOG_FORMAT, "").strip()
    if fmt and fmt.lower() not in LOG_FORMATS:
        log.warning("%s=%r is not one of %s: ignored", env.LOG_FORMAT, fmt, ", ".join(LOG_FORMATS))
    level = os.environ.get(env.LOG_LEVEL, "").strip()
    if level and level.upper() not in LEVELS:
        log.warning("%s=%r is not one of %s: ignored", env.LOG_LEVEL, level, ", ".join(LEVELS))
