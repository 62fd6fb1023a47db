"""The words after `/automl` (or after `@AutoML` in a thread), read the way a person writes them.

`parse_command(text)` returns one of the command dataclasses below, or raises `CommandError`
whose `problem` says what was wrong, in words meant for the person who typed it (the bot
sends it back with the usage, privately). The words are in `bot.messages.parsing`.

Accepted, besides the plain `train target=label time=5m`:
- any case for command and option names; spaces around `=` (`target = label`);
- quoted values with spaces, straight or curly (`target="Churn Flag"`, `target=“Churn Flag”`);
- lists written loosely (`exclude=a, b`, `keep = a , b`);
- `--target label` / `--target=label` (and the em dash Slack's autocorrect makes of `--`);
- `target label`, and a bare column name (`train churned`) taken as the target;
- Slack's own formatting undone: `<http://x.io|x.io>`, `<mailto:a@b.c|a@b.c>`, `&amp;`;
- a leading mention of the bot (`<@U123> train …`) is dropped.

Standard library, `contract` and `bot.messages` only: the bot's Lambda imports this module.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from bot.messages import parsing as says
from bot.messages.channel_cost import NOTHING_AFTER_COST
from bot.messages.models import NOTHING_AFTER_MODELS
from contract.jobs import JOB_ID_PATTERN, MAX_TIME_BUDGET_S, MIN_TIME_BUDGET_S
from contract.tasks import REQUESTED_TASKS

__all__ = [
    "DEFAULT_TIME_BUDGET_S",
    "CancelCommand",
    "Command",
    "CommandError",
    "CostCommand",
    "HelpCommand",
    "ListCommand",
    "ModelsCommand",
    "PredictCommand",
    "RetrainCommand",
    "StatusCommand",
    "TrainCommand",
    "column_choice_problem",
    "parse_command",
    "parse_duration",
    "split_columns",
    "strip_mentions",
    "unwrap_slack_formatting",
]

DEFAULT_TIME_BUDGET_S = None  # not given: the bot's AUTOML_DEFAULT_TIME_BUDGET_S applies
TASKS = REQUESTED_TASKS


class CommandError(ValueError):
    """The request could not be understood; `problem` says why, for a person."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class TrainCommand:
    target: str
    time_budget_s: int | None = DEFAULT_TIME_BUDGET_S
    metric: str = "auto"
    task: str = "auto"  # one of TASKS
    exclude: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()  # used even where the engine would leave them out (ids, leaks)
    file_name: str | None = None  # None: the newest table file shared in the channel
    share_to: str | None = None  # "channel": the results' summary goes to the channel too


@dataclass(frozen=True)
class StatusCommand:
    job_id: str | None = None  # None: the person's jobs, newest first


@dataclass(frozen=True)
class ListCommand:
    pass


@dataclass(frozen=True)
class CancelCommand:
    job_id: str


@dataclass(frozen=True)
class CostCommand:
    """What this channel's jobs cost this month."""


@dataclass(frozen=True)
class ModelsCommand:
    """The models of this channel a person may use."""


@dataclass(frozen=True)
class RetrainCommand:
    """Train again on the thread's newest file with the settings of `job_id`."""

    job_id: str | None = None  # None: the newest succeeded job of the thread


@dataclass(frozen=True)
class PredictCommand:
    """Score a table with the model of a training job."""

    job_id: str | None = None  # None: the thread's (or channel's) newest succeeded model
    file_name: str | None = None  # None: the newest table shared in the channel (or thread)


@dataclass(frozen=True)
class HelpCommand:
    topic: str | None = None  # `help train` -> "train"


Command = (
    TrainCommand
    | StatusCommand
    | ListCommand
    | CancelCommand
    | CostCommand
    | ModelsCommand
    | RetrainCommand
    | PredictCommand
    | HelpCommand
)

# ---- Slack text ------------------------------------------------------------------------------

_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^<>]*)?>", re.IGNORECASE)
_LABELLED = re.compile(r"<([^<>|]*)\|([^<>]*)>")
_LINK = re.compile(r"<(?:mailto:)?((?:https?://|[^<>@\s]+@)[^<>\s]*)>", re.IGNORECASE)


def strip_mentions(text: str, bot_user_id: str | None = None) -> str:
    """Drop `<@U123>` tokens: the bot's own anywhere, or (no id given) the leading ones."""
    if bot_user_id:
        return _MENTION.sub(
            lambda m: " " if m.group(1).upper() == bot_user_id.upper() else m.group(0), text
        ).strip()
    rest = text.lstrip()
    while match := _MENTION.match(rest):
        rest = rest[match.end() :].lstrip()
    return rest


def unwrap_slack_formatting(text: str) -> str:
    """`<http://x.io|x.io>` -> `x.io`, `<mailto:a@b.c>` -> `a@b.c`, `&lt;` -> `<`."""
    text = _LABELLED.sub(lambda m: m.group(2), text)
    text = _LINK.sub(lambda m: m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# ---- tokens ----------------------------------------------------------------------------------

# opening quote -> the characters that may close it (phones and Slack mix straight and curly)
_DOUBLE_QUOTES = {'"': '"”“', "“": '”“"', "”": '”“"', "„": '“”"', "«": "»", "»": "«"}
_SINGLE_QUOTES = {"'": "'’‘", "‘": "’‘'", "’": "’‘'"}
_DASHES = ("--", "—", "–")


@dataclass(frozen=True)
class _Token:
    text: str
    quoted: bool = False
    eq: bool = False  # an unquoted "="
    items: tuple[str, ...] = ()  # the text split at its unquoted commas

    @property
    def dashed(self) -> bool:
        return not self.quoted and self.text.startswith(_DASHES) and len(self.text) > 1


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    buf: list[str] = []
    items: list[str] = [""]
    started = quoted = False

    def flush() -> None:
        nonlocal started, quoted
        if started:
            tokens.append(_Token("".join(buf), quoted=quoted, items=tuple(items)))
        buf.clear()
        items[:] = [""]
        started = quoted = False

    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            flush()
            i += 1
            continue
        if ch == "=":
            flush()
            tokens.append(_Token("=", eq=True))
            i += 1
            continue
        # an apostrophe inside a word (customer's) is not a quote
        closers = _DOUBLE_QUOTES.get(ch) or (_SINGLE_QUOTES.get(ch) if not started else None)
        if closers:
            end = next((j for j in range(i + 1, len(text)) if text[j] in closers), -1)
            if end < 0:
                raise CommandError(says.unclosed_quote(ch))
            buf.append(text[i + 1 : end])
            items[-1] += text[i + 1 : end]
            started = quoted = True
            i = end + 1
            continue
        buf.append(ch)
        if ch == ",":
            items.append("")
        else:
            items[-1] += ch
        started = True
        i += 1
    flush()
    return tokens


# ---- durations -------------------------------------------------------------------------------

_UNITS = {
    "": 1,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
}
_DURATION = re.compile(r"(?:\d+(?:[.,]\d+)?\s*[a-z]*\s*)+")
_DURATION_PART = re.compile(r"(\d+(?:[.,]\d+)?)\s*([a-z]*)")


def parse_duration(text: str) -> int:
    """`90`, `90s`, `5m`, `1h`, `1.5h`, `1h30m`, `5 min` -> seconds, inside the allowed range."""
    spoken = text.strip().casefold()
    if not spoken or not _DURATION.fullmatch(spoken):
        raise CommandError(says.not_a_duration(text))
    parts = _DURATION_PART.findall(spoken)
    total = 0.0
    for number, unit in parts:
        if unit not in _UNITS or (not unit and len(parts) > 1):
            raise CommandError(says.not_a_duration(text))
        total += float(number.replace(",", ".")) * _UNITS[unit]
    seconds = round(total)
    if seconds < MIN_TIME_BUDGET_S:
        raise CommandError(says.budget_too_short(total, MIN_TIME_BUDGET_S))
    if seconds > MAX_TIME_BUDGET_S:
        raise CommandError(says.budget_too_long(total, MAX_TIME_BUDGET_S))
    return seconds


# ---- train options ---------------------------------------------------------------------------

_OPTIONS = ("target", "time", "metric", "task", "exclude", "keep", "file", "share")
SHARE_PLACES = ("channel", "thread")  # `thread` is where results always go: no sharing
_ALIASES = {
    **{name: name for name in _OPTIONS},
    "time_budget": "time",
    "budget": "time",
    "timeout": "time",
    "exclude_columns": "exclude",
    "excludes": "exclude",
    "keep_columns": "keep",
    "keeps": "keep",
    "file_name": "file",
    "filename": "file",
}
_TASK_ALIASES: dict[str, str] = {
    **{task: task for task in TASKS},
    "classify": "classification",
    "classifier": "classification",
    "regress": "regression",
    "regressor": "regression",
}
_COMMANDS = (
    "train",
    "predict",
    "status",
    "list",
    "cancel",
    "cost",
    "models",
    "retrain",
    "help",
)
_COMMAND_ALIASES = {
    **{name: name for name in _COMMANDS},
    "run": "train",
    "ls": "list",
    "model": "models",
    "jobs": "list",
    "stop": "cancel",
    "abort": "cancel",
    "kill": "cancel",
    "usage": "help",
    "score": "predict",
    "?": "help",
}


def _option_key(raw: str) -> str | None:
    """The option's canonical name, or None if `raw` is not one."""
    key = raw
    for dash in _DASHES:
        key = key.removeprefix(dash)
    return _ALIASES.get(key.casefold().replace("-", "_"))


def _option(raw: str) -> str:
    key = _option_key(raw)
    if key is not None:
        return key
    shown = raw.lstrip("-—–")
    close = difflib.get_close_matches(shown.casefold(), list(_ALIASES), n=1, cutoff=0.6)
    closest = _ALIASES[close[0]] if close else None
    raise CommandError(says.unknown_option(shown, closest, _OPTIONS))


def _followed_by_eq(tokens: list[_Token], i: int) -> bool:
    return i + 1 < len(tokens) and tokens[i + 1].eq


def _is_plain_value(tokens: list[_Token], i: int) -> bool:
    """tokens[i] can be (part of) a value: a word that does not start another option."""
    return (
        i < len(tokens)
        and not tokens[i].eq
        and not tokens[i].dashed
        and not _followed_by_eq(tokens, i)
    )


def _take_value(key: str, shown: str, tokens: list[_Token], i: int) -> tuple[list[_Token], int]:
    """The value tokens of option `key` starting at tokens[i]; returns them and the next index."""
    if i >= len(tokens) or tokens[i].eq or tokens[i].dashed:
        raise CommandError(says.needs_a_value(shown, key))
    value = [tokens[i]]
    i += 1
    if key in _LIST_OPTIONS:  # `exclude=a, b` and `keep = a , b`
        while _is_plain_value(tokens, i) and (
            (len(value[-1].items) > 1 and not value[-1].items[-1])
            or (len(tokens[i].items) > 1 and not tokens[i].items[0])
        ):
            value.append(tokens[i])
            i += 1
    elif (
        key == "time"  # `time=5 m`
        and _is_plain_value(tokens, i)
        and re.fullmatch(r"\d+(?:[.,]\d+)?", value[0].text)
        and tokens[i].text.casefold() in _UNITS
    ):
        value.append(tokens[i])
        i += 1
    return value, i


_LIST_OPTIONS = ("exclude", "keep")


def split_columns(text: str) -> tuple[str, ...]:
    """`a, b,,a` -> `("a", "b")`: a comma-separated list as a form or the CLI gives it."""
    return tuple(dict.fromkeys(name for name in (n.strip() for n in text.split(",")) if name))


def _column_list(tokens: list[_Token]) -> tuple[str, ...]:
    # Split at unquoted commas only: `exclude="a,b"` names one column.
    names = (name.strip() for token in tokens for name in token.items)
    return tuple(dict.fromkeys(name for name in names if name))


def column_choice_problem(
    target: str, exclude: tuple[str, ...], keep: tuple[str, ...]
) -> tuple[str, str] | None:
    """The option at fault and what is wrong with the column lists, or None when they agree.

    Shared by the command, the shortcut's form and the CLI, so they refuse the same things.
    """
    if target in exclude:
        return "exclude", says.target_excluded(target)
    if target in keep:
        return "keep", says.target_kept(target)
    both = [name for name in keep if name in exclude]
    if both:
        return "keep", says.kept_and_excluded(both)
    return None


def _parse_train(tokens: list[_Token]) -> TrainCommand:
    given = _train_options(tokens)
    target = given["target"][0].text.strip()
    if not target:
        raise CommandError(says.EMPTY_TARGET)
    time_budget_s: int | None = DEFAULT_TIME_BUDGET_S
    if "time" in given:
        time_budget_s = parse_duration(" ".join(t.text for t in given["time"]))
    metric = "auto"
    if "metric" in given:
        metric = given["metric"][0].text.strip().casefold().replace("-", "_") or "auto"
    task = _task(given["task"][0].text.strip()) if "task" in given else "auto"
    exclude = _column_list(given.get("exclude", []))
    keep = _column_list(given.get("keep", []))
    conflict = column_choice_problem(target, exclude, keep)
    if conflict is not None:
        raise CommandError(conflict[1])
    file_name = None
    if "file" in given:
        file_name = given["file"][0].text.strip() or None
    share_to = _share_place(given["share"][0].text) if "share" in given else None
    return TrainCommand(
        target=target,
        time_budget_s=time_budget_s,
        metric=metric,
        task=task,
        exclude=exclude,
        keep=keep,
        file_name=file_name,
        share_to=share_to,
    )


def _share_place(spoken: str) -> str | None:
    place = spoken.strip().casefold().lstrip("#")
    if place not in SHARE_PLACES:
        raise CommandError(says.unknown_share(spoken.strip()))
    return "channel" if place == "channel" else None


def _train_options(tokens: list[_Token]) -> dict[str, list[_Token]]:
    """Each option's value tokens, the target always among them; CommandError for an option
    given twice, words that are no option, or no target at all."""
    given: dict[str, list[_Token]] = {}
    bare: list[_Token] = []

    def put(key: str, value: list[_Token]) -> None:
        if key in given:
            first = " ".join(t.text for t in given[key])
            second = " ".join(t.text for t in value)
            raise CommandError(says.given_twice(key, first, second))
        given[key] = value

    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.eq:
            raise CommandError(says.EQUALS_WITHOUT_A_NAME)
        if not token.quoted and _followed_by_eq(tokens, i):  # key=value, key = value
            key = _option(token.text)
            value, i = _take_value(key, token.text, tokens, i + 2)
            put(key, value)
        elif token.dashed:  # --key value
            key = _option(token.text)
            value, i = _take_value(key, token.text, tokens, i + 1)
            put(key, value)
        elif (
            not token.quoted
            and (key_or_none := _option_key(token.text)) is not None
            and _is_plain_value(tokens, i + 1)
        ):  # `target label`
            value, i = _take_value(key_or_none, token.text, tokens, i + 1)
            put(key_or_none, value)
        else:
            bare.append(token)
            i += 1
    if bare:
        if "target" in given and len(bare) == 1 and bare[0] is tokens[0]:
            put("target", bare)  # `train a target=b`: the target twice, an error
        _check_bare_target(bare, has_target="target" in given)
        put("target", bare)
    if "target" not in given:
        raise CommandError(says.NO_TARGET)
    return given


def _check_bare_target(bare: list[_Token], *, has_target: bool) -> None:
    """Words that are no option can only be the target, and only one word of it."""
    words = " ".join(t.text for t in bare)
    if has_target:
        raise CommandError(says.not_an_option(words))
    if len(bare) > 1:
        raise CommandError(says.several_words(words))


def _task(spoken: str) -> str:
    """`task=...` as one of TASKS, whatever alias or case a person wrote it in."""
    found = _TASK_ALIASES.get(spoken.casefold())
    if found is None:
        close = difflib.get_close_matches(spoken.casefold(), list(_TASK_ALIASES), n=1)
        closest = _TASK_ALIASES[close[0]] if close else None
        raise CommandError(says.unknown_task(spoken, closest, TASKS))
    return found


def _parse_predict(tokens: list[_Token]) -> PredictCommand:
    """`predict [JOB] [file=NAME]`: the job id is the one word that is not `file=…`."""
    file_name: str | None = None
    rest: list[_Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        key = None if token.quoted else _option_key(token.text)
        if key == "file" and (_followed_by_eq(tokens, i) or token.dashed):
            start = i + 2 if _followed_by_eq(tokens, i) else i + 1
            value, i = _take_value("file", token.text, tokens, start)
            if file_name is not None:
                raise CommandError(says.given_twice("file", file_name, value[0].text))
            file_name = value[0].text.strip() or None
        elif (_followed_by_eq(tokens, i) or token.dashed) and token.text.casefold().lstrip(
            "-—–"
        ) not in _JOB_WORDS:
            raise CommandError(says.predict_takes_file_only(token.text.lstrip("-—–")))
        else:
            rest.append(token)
            i += 1
    return PredictCommand(job_id=_job_id(rest, "predict"), file_name=file_name)


# ---- commands --------------------------------------------------------------------------------


_JOB_WORDS = frozenset({"job", "id", "job_id"})  # `job=JOB`, `--job JOB`


def _job_id(tokens: list[_Token], command: str) -> str | None:
    """The one job id in `tokens` (`JOB`, `job=JOB` or `--job JOB`), or None if there is none."""
    words = [t for t in tokens if not t.eq]
    if words and words[0].text.casefold().lstrip("-—–") in _JOB_WORDS and (len(words) == 2):
        words = words[1:]
    if len(words) > 1:
        listed = " ".join(t.text for t in words)
        raise CommandError(says.one_job_id_only(command, listed))
    if not words:
        return None
    job_id = words[0].text.strip()
    if not re.fullmatch(JOB_ID_PATTERN, job_id):
        raise CommandError(says.not_a_job_id(job_id))
    return job_id


def parse_command(text: str, *, bot_user_id: str | None = None) -> Command:
    """Read the text of a slash command or of a mention of the bot.

    A mention of the bot (`<@U123>`) is dropped first: with `bot_user_id` wherever it is,
    without it only at the start. Empty text asks for help.
    """
    tokens = _tokenize(unwrap_slack_formatting(strip_mentions(text, bot_user_id)))
    # `@AutoML /automl train …` and `@AutoML automl train …`
    if tokens and not tokens[0].quoted and tokens[0].text.casefold() in {"/automl", "automl"}:
        tokens = tokens[1:]
    if not tokens:
        return HelpCommand()

    first, rest = tokens[0], tokens[1:]
    if first.eq:
        raise CommandError(says.EQUALS_WITHOUT_A_NAME)
    # forgetting the word train: `/automl target=churned`, `--target churned`
    if (_followed_by_eq(tokens, 0) or first.dashed) and _option_key(first.text) is not None:
        return _parse_train(tokens)

    word = first.text.casefold().lstrip("/")
    command = _COMMAND_ALIASES.get(word)
    if command is None or first.quoted:
        close = difflib.get_close_matches(word, list(_COMMAND_ALIASES), n=1, cutoff=0.6)
        closest = _COMMAND_ALIASES[close[0]] if close else None
        raise CommandError(says.unknown_command(first.text, closest, _COMMANDS))

    if command == "train":
        return _parse_train(rest)
    if command == "status":
        return StatusCommand(job_id=_job_id(rest, "status"))
    if command == "cancel":
        job_id = _job_id(rest, "cancel")
        if job_id is None:
            raise CommandError(says.WHICH_JOB_TO_CANCEL)
        return CancelCommand(job_id=job_id)
    if command == "list":
        if rest:
            listed = " ".join(t.text for t in rest)
            raise CommandError(says.list_takes_nothing(listed))
        return ListCommand()
    if command == "cost":
        if rest:
            raise CommandError(NOTHING_AFTER_COST)
        return CostCommand()
    if command == "models":
        if rest:
            raise CommandError(NOTHING_AFTER_MODELS)
        return ModelsCommand()
    if command == "retrain":
        return RetrainCommand(job_id=_job_id(rest, "retrain"))
    if command == "predict":
        return _parse_predict(rest)
    topic = rest[0].text.casefold() if rest else None
    return HelpCommand(topic=_COMMAND_ALIASES.get(topic, topic) if topic else None)
