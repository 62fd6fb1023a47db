"""How listeners answer a person: privately, in words, never with a traceback."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient

from bot.errors import UserFacingError
from bot.messages import escape

log = logging.getLogger(__name__)

Reply = Callable[[str], object]

SORRY = (
    ":x: Something went wrong on the bot's side and it could not do that. "
    "Try again in a minute; if it keeps happening, tell whoever runs this bot."
)


def problem_text(error: UserFacingError) -> str:
    """A user-facing error as one short message: what went wrong, then what to do."""
    text = f":warning: {error.message}"
    if error.hint:
        text += f"\n*What to do:* {error.hint}"
    return text


def answer_safely(reply: Reply, work: Callable[[], str | None]) -> None:
    """Run `work` and send its sentence with `reply`; send problems in words instead."""
    try:
        text = work()
    except UserFacingError as error:
        text = problem_text(error)
    except Exception:
        log.exception("a Slack request failed")
        text = SORRY
    if text:
        try:
            reply(text)
        except Exception:  # a reply that cannot be sent is logged, never raised into Bolt
            log.exception("could not send a reply to Slack")


def ephemeral_reply(
    client: WebClient, channel: str, user: str, thread_ts: str | None = None
) -> Reply:
    """A `Reply` that only `user` sees, in `channel` (and in a thread when given)."""

    def send(text: str) -> object:
        return client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)

    return send


def response_url_reply(respond: Callable[..., object]) -> Reply:
    """A `Reply` through Bolt's `respond` (the request's response_url), ephemeral."""

    def send(text: str) -> object:
        return respond(text=text, response_type="ephemeral", replace_original=False)

    return send


__all__ = ["SORRY", "Reply", "answer_safely", "ephemeral_reply", "escape", "problem_text"]
