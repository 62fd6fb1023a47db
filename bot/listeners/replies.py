"""How listeners answer Slack: an empty ack, and privately, in words, never a traceback.

The words themselves are in `bot.messages.answers`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.errors import UserFacingError
from bot.messages.answers import SORRY, problem_text
from common.logs import log_context

log = logging.getLogger(__name__)

Reply = Callable[[str], object]


def ack_only(ack: Ack) -> None:
    """Acknowledge within Slack's 3 seconds, saying nothing (the work, if any, is lazy)."""
    ack()


def answer_safely(
    reply: Reply,
    work: Callable[[], str | None],
    *,
    channel: str | None = None,
    user: str | None = None,
    event: str | None = None,
) -> None:
    """Run `work` and send its sentence with `reply`; send problems in words instead. Lines
    logged meanwhile carry the channel, the person and what they asked for."""
    with log_context(channel=channel, user=user, event=event):
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


__all__ = ["Reply", "ack_only", "answer_safely", "ephemeral_reply", "response_url_reply"]
