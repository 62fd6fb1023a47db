"""`common.logs`: what each entry point gets, `basicConfig`'s rule, JSON lines with their
context fields, and no secret in any line."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.logs import (
    CONTEXT_FIELDS,
    JSON,
    REDACTED,
    SECRET_VARIABLES,
    TIMED_FORMAT,
    JsonFormatter,
    add_secrets,
    carry_log_context,
    configure_lambda_logging,
    configure_logging,
    install_record_hooks,
    log_context,
    message_of,
    redact,
    set_process_log_context,
)
from contract import environment as env


@contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger as a fresh interpreter has it (no handlers, not even pytest's, which it
    adds around each test's body); restored after."""
    logger = logging.getLogger()
    saved, level = list(logger.handlers), logger.level
    logger.handlers.clear()
    logger.setLevel(logging.WARNING)
    try:
        yield logger
    finally:
        logger.handlers[:] = saved
        logger.setLevel(level)


def test_a_stderr_handler_in_the_format_given() -> None:
    with bare_root() as root:
        configure_logging("%(levelname)s %(name)s: %(message)s", stderr_level=logging.WARNING)
        (handler,) = root.handlers
        levels = (handler.level, root.level)
    assert isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr
    assert levels == (logging.WARNING, logging.WARNING)
    record = logging.LogRecord("bot.x", logging.ERROR, __file__, 1, "boom", None, None)
    assert handler.format(record) == "ERROR bot.x: boom"


def test_the_timed_format_and_a_root_level() -> None:
    with bare_root() as root:
        configure_logging(level=logging.INFO)
        (handler,) = root.handlers
        levels = (handler.level, root.level)
    assert handler.formatter is not None and handler.formatter._fmt == TIMED_FORMAT
    assert levels == (logging.NOTSET, logging.INFO)


def test_handlers_already_there_are_kept() -> None:
    existing = logging.NullHandler()
    with bare_root() as root:
        root.addHandler(existing)
        configure_logging(stderr_level=logging.WARNING)
        handlers = list(root.handlers)
    assert handlers == [existing] and existing.level == logging.WARNING


# ---- JSON lines, context, secrets ------------------------------------------------------------

BOT_TOKEN = "xoxb-1111-2222-FakeBotTokenValue"
SIGNING_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture(autouse=True)
def no_log_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests say what they set; the environment running them does not."""
    for name in (env.LOG_FORMAT, env.LOG_LEVEL, "AWS_LAMBDA_FUNCTION_NAME", *SECRET_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    install_record_hooks()


@contextmanager
def json_lines(level: int = logging.DEBUG) -> Iterator[list[dict[str, Any]]]:
    """Records logged inside, as the parsed JSON lines a JsonFormatter handler wrote."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    lines: list[dict[str, Any]] = []
    with bare_root() as root:
        root.addHandler(handler)
        root.setLevel(level)
        yield lines
    lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


def test_a_line_is_one_json_object_with_its_fields() -> None:
    with json_lines() as lines:
        logging.getLogger("bot.service").info("job %s queued", "3fa9c1b2")
        logging.getLogger("slack_bolt.App").warning("a library's line\nover two lines")
    first, second = lines
    assert first["level"] == "INFO" and first["logger"] == "bot.service"
    assert first["message"] == "job 3fa9c1b2 queued"
    moment = datetime.fromisoformat(first["timestamp"].replace("Z", "+00:00"))
    assert moment.utcoffset() == timedelta(0) and first["timestamp"].endswith("Z")
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 60
    assert second["message"] == "a library's line\nover two lines"  # still one line


def test_context_fields_reach_every_line_made_inside_even_from_libraries() -> None:
    with json_lines() as lines:
        logging.getLogger("bot").info("before")
        with log_context(channel="C0GENERAL", user="U0ALICE", event="command train"):
            logging.getLogger("slack_sdk.web").info("outer")
            with log_context(job_id="3fa9c1b2", event="started"):
                logging.getLogger("bot.notifier").info("inner")
            logging.getLogger("bot").info("outer again")
        logging.getLogger("bot").info("after")
    fields = {line["message"]: {k: line.get(k) for k in CONTEXT_FIELDS} for line in lines}
    nothing = dict.fromkeys(CONTEXT_FIELDS)
    assert fields["before"] == nothing == fields["after"]
    outer = {"job_id": None, "channel": "C0GENERAL", "user": "U0ALICE", "event": "command train"}
    assert fields["outer"] == outer == fields["outer again"]
    assert fields["inner"] == {**outer, "job_id": "3fa9c1b2", "event": "started"}


def test_a_thread_carries_the_context_only_when_its_target_is_wrapped() -> None:
    log = logging.getLogger("bot.launcher")
    with json_lines() as lines, log_context(job_id="3fa9c1b2"):
        plain = threading.Thread(target=log.info, args=("plain thread",))
        wrapped = threading.Thread(target=carry_log_context(log.info), args=("wrapped thread",))
        for thread in (plain, wrapped):
            thread.start()
            thread.join()
    by_message = {line["message"]: line for line in lines}
    assert "job_id" not in by_message["plain thread"]  # threads start with an empty context
    assert by_message["wrapped thread"]["job_id"] == "3fa9c1b2"


def test_a_process_context_reaches_every_thread() -> None:
    log = logging.getLogger("training.run")
    try:
        with json_lines() as lines:
            set_process_log_context(job_id="3fa9c1b2")
            thread = threading.Thread(target=log.info, args=("from a library's thread",))
            thread.start()
            thread.join()
            with log_context(channel="C0GENERAL"):
                log.info("with more")
    finally:
        set_process_log_context()
    assert [line["job_id"] for line in lines] == ["3fa9c1b2", "3fa9c1b2"]
    assert lines[1]["channel"] == "C0GENERAL"


def test_only_known_fields_make_a_context() -> None:
    with pytest.raises(TypeError, match="job"), log_context(job="x"):
        pass


def test_an_exception_is_a_field_with_its_traceback() -> None:
    with json_lines() as lines:
        try:
            raise RuntimeError("the disk is full")
        except RuntimeError:
            logging.getLogger("bot").exception("could not save")
    (line,) = lines
    assert line["message"] == "could not save" and line["level"] == "ERROR"
    assert line["exception"].startswith("Traceback (most recent call last)")
    assert "RuntimeError: the disk is full" in line["exception"]


def test_extra_fields_are_kept_and_may_set_a_context_field() -> None:
    with json_lines() as lines, log_context(job_id="3fa9c1b2"):
        logging.getLogger("bot").info("done", extra={"duration_s": 1.5, "job_id": "other1"})
    (line,) = lines
    assert line["duration_s"] == 1.5 and line["job_id"] == "other1"


def test_the_secrets_of_the_environment_never_reach_a_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv(env.JOB_TOKEN, "job-token-Zx81_qpLm-0a9")
    log = logging.getLogger("slack_sdk.web.base_client")
    with json_lines() as lines:
        log.info("headers %s", {"Authorization": f"Bearer {BOT_TOKEN}"})
        log.info("secret " + SIGNING_SECRET)  # in the message itself
        log.debug("env %(job)s", {"job": "job-token-Zx81_qpLm-0a9"})
        try:
            raise ValueError(f"signature of {SIGNING_SECRET} did not match")
        except ValueError:
            log.exception("check failed")
        log.info("done", extra={"sent": f"token {BOT_TOKEN}"})
    text = json.dumps(lines)
    for secret in (BOT_TOKEN, SIGNING_SECRET, "job-token-Zx81_qpLm-0a9", "FakeBotTokenValue"):
        assert secret not in text
    assert lines[0]["message"] == "headers {'Authorization': 'Bearer [redacted]'}"
    assert lines[3]["exception"].endswith(f"ValueError: signature of {REDACTED} did not match")


def test_secrets_read_elsewhere_are_added_and_short_values_are_not_searched() -> None:
    add_secrets("s", "", None, "read-from-secrets-manager-123")
    assert redact("s says read-from-secrets-manager-123") == f"s says {REDACTED}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bot xoxb-17-42-AbCdEf and user xoxp-1-2-3-abc", f"bot {REDACTED} and user {REDACTED}"),
        (
            "app xapp-1-A0B1-9876-abcdef, rotated xoxe.xoxp-1-Mi0yLTE",
            f"app {REDACTED}, rotated {REDACTED}",
        ),
        ("refresh xoxe-1-My0xLTEy", f"refresh {REDACTED}"),
        (
            "{'SecretAccessKey': 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLE', 'AccessKeyId': 'AKIA1'}",
            f"{{'SecretAccessKey': '{REDACTED}', 'AccessKeyId': 'AKIA1'}}",
        ),
        (
            "secret_key='abcdEFGH12345678' token='FQoGZXIvYXdzEJr'",
            f"secret_key='{REDACTED}' token='{REDACTED}'",
        ),
        ('{"SessionToken": "IQoJb3JpZ2luX2VjEJr+/="}', f'{{"SessionToken": "{REDACTED}"}}'),
        (
            "url?X-Amz-Security-Token=IQoJb3JpZ2luX2Vj&X-Amz-Date=1",
            f"url?X-Amz-Security-Token={REDACTED}&X-Amz-Date=1",
        ),
        ("SLACK_BOT_TOKEN=xoxb-1-2-abc", f"SLACK_BOT_TOKEN={REDACTED}"),
        # Ordinary words stay: no value after a name, or too short to be a secret.
        (
            "The token does not match Batch job 4c75's.",
            "The token does not match Batch job 4c75's.",
        ),
        ("tokens: 12, token: none", "tokens: 12, token: none"),
    ],
)
def test_secret_shapes_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert redact(expected) == expected  # redacting twice changes nothing


def test_the_text_format_is_redacted_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(TIMED_FORMAT))
    with bare_root() as root:
        root.addHandler(handler)
        try:
            raise KeyError(SIGNING_SECRET)
        except KeyError:
            logging.getLogger("bot").exception("lookup of %s", SIGNING_SECRET)
    assert SIGNING_SECRET not in stream.getvalue()
    assert f"lookup of {REDACTED}" in stream.getvalue()


def test_servers_choose_json_and_the_variables_override(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with bare_root() as root:
        configure_logging(level=logging.INFO, output=JSON)
        (handler,) = root.handlers
        assert isinstance(handler.formatter, JsonFormatter) and root.level == logging.INFO
    monkeypatch.setenv(env.LOG_FORMAT, "text")
    monkeypatch.setenv(env.LOG_LEVEL, "debug")
    with bare_root() as root:
        configure_logging(level=logging.INFO, output=JSON)
        (handler,) = root.handlers
        assert handler.formatter is not None and not isinstance(handler.formatter, JsonFormatter)
        assert root.level == logging.DEBUG == handler.level
    monkeypatch.setenv(env.LOG_FORMAT, "json")
    with bare_root() as root:  # a terminal command, asked for JSON
        configure_logging(stderr_level=logging.WARNING)
        (handler,) = root.handlers
        assert isinstance(handler.formatter, JsonFormatter)


def test_a_level_that_is_none_is_said_and_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env.LOG_LEVEL, "loud")
    stream = io.StringIO()
    with bare_root() as root:
        root.addHandler(logging.StreamHandler(stream))
        configure_logging(level=logging.INFO)
        assert root.level == logging.INFO
    assert "AUTOML_LOG_LEVEL='loud' is not one of DEBUG, INFO" in stream.getvalue()


def test_on_lambda_the_runtime_handler_writes_json_at_info(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = logging.StreamHandler(io.StringIO())  # stands in for the Lambda runtime's
    runtime.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    with bare_root() as root:
        root.addHandler(runtime)
        configure_lambda_logging()  # not on Lambda: left alone
        assert not isinstance(runtime.formatter, JsonFormatter) and root.level == logging.WARNING
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "automl-completion")
        configure_lambda_logging()
        assert root.handlers == [runtime] and isinstance(runtime.formatter, JsonFormatter)
        assert root.level == logging.INFO
        monkeypatch.setenv(env.LOG_LEVEL, "WARNING")
        configure_lambda_logging()
        assert root.level == logging.WARNING


def test_a_json_line_reads_back_as_its_level_and_message() -> None:
    with json_lines() as lines:
        logging.getLogger("training.run").warning("the search stopped early")
    assert message_of(json.dumps(lines[0])) == ("WARNING", "the search stopped early")
    assert message_of("error: cannot read the spec") is None
    assert message_of("{not json") is None


def test_arguments_that_do_not_fit_are_kept_as_text_and_redacted() -> None:
    with json_lines() as lines:
        logging.getLogger("bot").warning("%d jobs", "xoxb-1-2-notanumber")
    (line,) = lines
    assert line["message"] == f"%d jobs ('{REDACTED}',)"
