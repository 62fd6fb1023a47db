"""`automl shell`: talk to the bot in a terminal, with no Slack at all.

The real Bolt app, the real job service and the real local backend run here; only Slack's
servers are replaced, by `SlackStandIn` (its Web API on 127.0.0.1, in this process). What
a person would do in Slack becomes a line of text, sent to the bot as the signed request
Slack would send; what the bot posts is printed as the channel and its threads would show it,
and uploaded charts are written to disk.

    upload PATH              share a table file in the channel (the bot previews it)
    /automl train target=Y   any slash command, exactly as in Slack
    @automl train target=Y   a mention in the thread of the last shared file
    train [COLUMN]           click Train on the last preview (after picking COLUMN)
    wait                     wait until every job has finished
    thread                   print the last file's thread again
    help                     this text
    quit                     leave (running jobs are stopped)

Lines also come from a pipe: `automl shell < conversation.txt` replays a conversation, and
waits for its jobs before it ends (`make demo` does this).
"""

from __future__ import annotations

import shlex
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr
from slack_bolt import BoltRequest, BoltResponse

from bot.console.render import render_message
from bot.console.slack_requests import SignedRequest, SlackRequests
from bot.console.slack_standin import SlackStandIn
from bot.preview_blocks import TARGET_SELECT_ACTION, TRAIN_BUTTON_ACTION
from bot.runtime import Bot, build_bot
from bot.settings import Settings
from contract.run_folder import RUNS_DIR

CHANNEL = "C0CONSOLE"
PERSON = "U0YOU"
POLL_S = 0.3
QUIET_S = 1.5  # a conversation has settled when nothing new was said for this long


class Console:
    def __init__(self, settings: Settings, out: TextIO = sys.stdout) -> None:
        self.out = out
        # Ids differ from one session to the next, as Slack's do: the bot's store remembers them.
        self.slack = SlackStandIn(
            channels=(CHANNEL,), bot_user_id="U0AUTOML", first_id=int(time.time() * 1000) % 10**9
        ).start()
        settings = settings.model_copy(
            update={
                "slack_bot_token": SecretStr(self.slack.bot_token),
                "slack_api_url": self.slack.url,
            }
        )
        self.settings = settings
        self.files_dir = settings.data_dir.resolve() / "console-files"
        self.bot: Bot = build_bot(settings)
        self.bot.start()
        self.requests = SlackRequests(self.slack, self.bot.signing_secret, user=PERSON)
        self.thread_ts: str | None = None  # the last shared file's message
        self._shown: dict[str, str] = {}  # ts -> what was printed for it
        self._ephemerals_shown = 0
        self._last_change = time.monotonic()
        self._changes = 0  # how many things the bot has said so far
        self._print_lock = threading.Lock()
        self._stop = threading.Event()
        self._printer = threading.Thread(target=self._print_loop, name="console", daemon=True)
        self._printer.start()

    # ---- lifecycle ---------------------------------------------------------------------------

    def close(self, *, stop_jobs: bool = True) -> None:
        if stop_jobs:
            terminate = getattr(self.bot.backend.launcher, "terminate_all", None)
            if callable(terminate):
                terminate()
        self.settle()
        self._stop.set()
        self._printer.join(timeout=5)
        self.bot.close()
        self.slack.stop()

    # ---- sending -----------------------------------------------------------------------------

    def _send(self, request: SignedRequest) -> BoltResponse:
        headers: dict[str, str | Sequence[str]] = {**request.headers}
        response = self.bot.app.dispatch(BoltRequest(body=request.body, headers=headers))
        if response.status != 200:
            self._say(f"(the bot answered HTTP {response.status}: {response.body})")
        elif response.body and response.body.lstrip().startswith("{"):
            import json

            payload = json.loads(response.body)
            if payload.get("text") or payload.get("blocks"):
                self._say(_speaker("AutoML (only you)") + render_message(payload))
        return response

    def upload(self, path: Path) -> None:
        if not path.is_file():
            self._say(f"There is no file at {path}.")
            return
        file = self.slack.add_file(path.name, path.read_bytes(), channel=CHANNEL, user=PERSON)
        self.thread_ts = file["message_ts"]
        self._send(self.requests.file_shared(CHANNEL, self.slack.message(CHANNEL, self.thread_ts)))

    def slash(self, text: str) -> None:
        self._send(self.requests.command(CHANNEL, text))

    def mention(self, text: str) -> None:
        ts = self.slack.post_user_message(
            CHANNEL, f"<@{self.slack.bot_user_id}> {text}", user=PERSON, thread_ts=self.thread_ts
        )
        self._send(
            self.requests.mention(
                CHANNEL,
                f"<@{self.slack.bot_user_id}> {text}",
                ts=ts,
                thread_ts=self.thread_ts,
            )
        )

    def click_train(self, column: str | None) -> None:
        preview = self._last_preview()
        if preview is None:
            self._say("There is no preview with a Train button yet: upload a file first.")
            return
        state: dict[str, Any] = {}
        button: dict[str, Any] | None = None
        for block in preview.get("blocks") or []:
            for element in block.get("elements") or []:
                if element.get("action_id") == TRAIN_BUTTON_ACTION:
                    button = {**element, "block_id": block.get("block_id")}
                if element.get("action_id") == TARGET_SELECT_ACTION and column:
                    state[block.get("block_id", "")] = {
                        TARGET_SELECT_ACTION: {
                            "type": "static_select",
                            "selected_option": {
                                "text": {"type": "plain_text", "text": column},
                                "value": column,
                            },
                        }
                    }
        if button is None:
            self._say("The preview has no Train button.")
            return
        self._send(self.requests.block_action(CHANNEL, preview, button, state=state))

    def _last_preview(self) -> dict[str, Any] | None:
        for message in reversed(self.slack.messages(CHANNEL)):
            for block in message.get("blocks") or []:
                for element in block.get("elements") or []:
                    if element.get("action_id") == TRAIN_BUTTON_ACTION:
                        return message
        return None

    @property
    def said(self) -> int:
        return self._changes

    # ---- waiting -----------------------------------------------------------------------------

    def settle(self, after: int | None = None, timeout_s: float = 180.0) -> None:
        """Wait until the bot has said everything it is going to say for now.

        With `after` (a count of things said), first wait for the bot to say something more:
        the slow half of a request answers seconds after its acknowledgement.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._print_new()
            answered = after is None or self._changes > after
            if answered and time.monotonic() - self._last_change >= QUIET_S:
                return
            time.sleep(POLL_S)

    def wait_for_jobs(self, timeout_s: float = 3600.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.bot.backend.jobs.count_active() > 0:
            time.sleep(POLL_S)
        self.settle()

    # ---- printing ----------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        """Print something the console or the bot's acknowledgement said."""
        with self._print_lock:
            print(text, file=self.out, flush=True)
            self._changes += 1
            self._last_change = time.monotonic()

    def _print_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._print_new()
            except Exception as error:  # the printer must never take the console down
                self._say(f"(could not show a message: {error})")
            self._stop.wait(POLL_S)

    def _print_new(self) -> None:
        with self._print_lock:
            for message in self.slack.messages(CHANNEL):
                if message.get("user") == PERSON:
                    continue  # the person's own lines were typed, not said by the bot
                ts = message["ts"]
                text = render_message(message, self._local_link)
                if self._shown.get(ts) == text:
                    continue
                updated = ts in self._shown
                self._shown[ts] = text
                self._changes += 1
                self._last_change = time.monotonic()
                who = "AutoML (updated its status)" if updated else "AutoML"
                if message.get("thread_ts") and message["thread_ts"] != ts:
                    who += " in the thread"
                print(_speaker(who) + text, file=self.out, flush=True)
                self._save_files(message)
            ephemerals = self.slack.ephemerals
            for message in ephemerals[self._ephemerals_shown :]:
                self._ephemerals_shown += 1
                self._changes += 1
                self._last_change = time.monotonic()
                print(
                    _speaker("AutoML (only you)") + render_message(message, self._local_link),
                    file=self.out,
                    flush=True,
                )

    def _save_files(self, message: dict[str, Any]) -> None:
        files = [f for f in message.get("files") or [] if f.get("user") != PERSON]
        for file in files:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            path = self.files_dir / file["name"]
            path.write_bytes(self.slack.uploaded(file["id"]))
            alt = file.get("alt_txt") or ""
            print(f"    saved {file.get('title') or file['name']} to {path}", file=self.out)
            if alt:
                print(f"      alt text: {alt}", file=self.out)
        if files:
            print("", file=self.out, flush=True)

    def _local_link(self, url: str) -> str:
        """A link the bot serves, as the file on disk it points at (the shell serves no web)."""
        parts = urlsplit(url)
        prefix = "/artifacts/"
        if not url.startswith(self.settings.public_url) or not parts.path.startswith(prefix):
            return url
        job_id, _, relative = unquote(parts.path[len(prefix) :]).partition("/")
        return str(self.settings.data_dir.resolve() / RUNS_DIR / job_id / relative)

    # ---- the loop ----------------------------------------------------------------------------

    def handle(self, line: str) -> bool:
        """Do one line; False when the person wants to leave."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        word, _, rest = line.partition(" ")
        word = word.lower()
        if word in ("quit", "exit"):
            return False
        if word == "help":
            self._say(__doc__.split("\n\n")[2] if __doc__ else "")
        elif word == "upload":
            args = shlex.split(rest)
            if not args:
                self._say("upload PATH: which file?")
            else:
                self.upload(Path(args[0]).expanduser())
        elif word.startswith("/"):
            self.slash(rest if word == "/automl" else line)
        elif word.startswith("@"):
            self.mention(rest)
        elif word == "train":
            self.click_train(rest.strip() or None)
        elif word == "wait":
            self.wait_for_jobs()
        elif word == "thread":
            self._reprint_thread()
        else:
            self._say(f"I don't know “{word}”. Type help for what you can do.")
        return True

    def _reprint_thread(self) -> None:
        if self.thread_ts is None:
            self._say("No file has been shared yet.")
            return
        for message in self.slack.thread(CHANNEL, self.thread_ts):
            who = "you" if message.get("user") == PERSON else "AutoML"
            self._say(_speaker(who) + render_message(message, self._local_link))


def _expects_answer(line: str) -> bool:
    word = line.strip().split(" ", 1)[0].lower()
    return bool(word) and not word.startswith("#") and word not in ("wait", "thread", "help")


def _speaker(who: str) -> str:
    return f"\n{who}:\n"


def run_console(settings: Settings, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """The shell's loop: interactive on a terminal, a replayed conversation from a pipe."""
    interactive = stdin.isatty()
    console = Console(settings, out)
    print(
        f"AutoML shell: the bot is running against a Slack stand-in; data in "
        f"{settings.data_dir.resolve()}. Type help for the commands.",
        file=out,
        flush=True,
    )
    try:
        while True:
            if interactive:
                try:
                    line = input("you> ")
                except EOFError:
                    break
            else:
                line = stdin.readline()
                if not line:
                    break
                if line.strip() and not line.lstrip().startswith("#"):
                    print(f"\nyou> {line.strip()}", file=out, flush=True)
            said = console.said
            if not console.handle(line):
                break
            console.settle(after=said if _expects_answer(line) else None)
        if not interactive:
            console.wait_for_jobs()
    except KeyboardInterrupt:
        print("\nStopping the running jobs…", file=out, flush=True)
    finally:
        console.close()
    return 0
