"""What was wrong with the words after `/automl` (`bot.command_parser`), and how to write them."""

from __future__ import annotations

OPTION_EXAMPLES = {
    "target": "target=churned",
    "time": "time=5m",
    "metric": "metric=roc_auc",
    "task": "task=classification",
    "exclude": "exclude=id,email",
    "keep": "keep=customer_id",
    "file": "file=customers.csv",
    "share": "share=channel",
}

EMPTY_TARGET = "The target is empty: name the column to predict, like target=churned."
EQUALS_WITHOUT_A_NAME = "An “=” needs an option name before it, like target=churned."
NO_TARGET = (
    "Which column should the model predict? Name it with target=COLUMN, like train target=churned."
)
WHICH_JOB_TO_CANCEL = (
    "Which job should I cancel? Give its id: cancel JOB (/automl list shows them)."
)


def say_list(words: tuple[str, ...]) -> str:
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def say_seconds(seconds: float) -> str:
    s = round(seconds)
    if s >= 3600 and s % 3600 == 0:
        return f"{s // 3600} h"
    if s >= 60 and s % 60 == 0:
        return f"{s // 60} min"
    if s >= 60:
        return f"{s // 60} min {s % 60} s"
    return f"{s} s"


def unclosed_quote(quote: str) -> str:
    return (
        f"A quote ({quote}) is opened but never closed: "
        f'write a name with spaces as target="Churn Flag".'
    )


def not_a_duration(text: str) -> str:
    return f"“{text}” is not a time budget; try 90s, 5m or 1h."


def budget_too_short(seconds: float, shortest_s: float) -> str:
    return (
        f"A time budget of {say_seconds(seconds)} is too short:"
        f" the shortest is {say_seconds(shortest_s)}."
    )


def budget_too_long(seconds: float, longest_s: float) -> str:
    return (
        f"A time budget of {say_seconds(seconds)} is too long:"
        f" the longest is {say_seconds(longest_s)}."
    )


def unknown_option(shown: str, closest: str | None, options: tuple[str, ...]) -> str:
    hint = f" Did you mean {closest}=…?" if closest else ""
    return f"I don't know the option “{shown}”.{hint} The options are {say_list(options)}."


def needs_a_value(shown: str, option: str) -> str:
    return f"{shown} needs a value, like {OPTION_EXAMPLES[option]}."


def given_twice(option: str, first: str, second: str) -> str:
    return f"{option} is given twice (“{first}” and “{second}”); give it once."


def not_an_option(words: str) -> str:
    return f"I don't know what “{words}” means here: write options as name=value, like time=5m."


def several_words(words: str) -> str:
    return (
        f"I read “{words}” as several words. Name one target column; put a name"
        f' with spaces in quotes: target="{words}".'
    )


def unknown_task(spoken: str, closest: str | None, tasks: tuple[str, ...]) -> str:
    hint = f" Did you mean {closest}?" if closest else ""
    return (
        f"The task “{spoken}” is not one I can run.{hint}"
        f" Choose {say_list(tasks).replace(' and ', ' or ')}."
    )


def unknown_share(spoken: str) -> str:
    return (
        f"“share={spoken}” is not a place I can share results in. Write share=channel to "
        "post a one-line summary in the channel too, or leave it out to answer in the thread."
    )


def target_excluded(target: str) -> str:
    return f"“{target}” is the target, so it cannot be excluded too: take it out of exclude."


def target_kept(target: str) -> str:
    return f"“{target}” is the target, so it cannot be in keep too: take it out of keep."


def kept_and_excluded(names: list[str]) -> str:
    named = say_list(tuple(f"“{name}”" for name in names))
    return (
        f"{named} {'is' if len(names) == 1 else 'are'} in both keep and exclude:"
        " a column is either kept or left out, so take it out of one of them."
    )


def one_job_id_only(command: str, listed: str) -> str:
    return f"{command} takes one job id, not “{listed}”."


def not_a_job_id(job_id: str) -> str:
    return (
        f"“{job_id}” is not a job id. Job ids look like 20250101-093000-ab12;"
        " /automl list shows them."
    )


def unknown_command(word: str, closest: str | None, commands: tuple[str, ...]) -> str:
    hint = f" Did you mean {closest}?" if closest else ""
    return f"I don't know the command “{word}”.{hint} The commands are {say_list(commands)}."


def list_takes_nothing(listed: str) -> str:
    return f"list takes nothing after it, not “{listed}”."


def predict_takes_file_only(option: str) -> str:
    return (
        f"predict takes a job id and file=NAME, not “{option}”. For example: "
        "/automl predict 3fa9c1b2 file=leads.csv"
    )
