"""Why the file a person means cannot be found or fetched (`bot.slack_files`): each function
returns what went wrong and what to do, the two parts of a `FileFetchError`."""

from __future__ import annotations

Sentence = tuple[str, str]  # (what went wrong, what to do)

MAX_FILES_LISTED = 5
BYTES_PER_MB = 1024 * 1024

REINSTALL_HINT = (
    "Ask whoever runs the bot to add the `{scope}` scope to the Slack app and reinstall it "
    "to the workspace, then try again."
)
INVITE_HINT = "Invite the bot to this channel (`/invite @AutoML`) and try again."
RETRY_HINT = "Try again in a minute; if it keeps happening, tell whoever runs the bot."


def reinstall_hint(scope: str) -> str:
    return REINSTALL_HINT.format(scope=scope)


def listed(names: list[str]) -> str:
    shown = ", ".join(f"“{n}”" for n in names[:MAX_FILES_LISTED])
    extra = len(names) - MAX_FILES_LISTED
    return shown + (f" and {extra} more" if extra > 0 else "")


def size_text(n_bytes: int) -> str:
    megabytes = n_bytes / BYTES_PER_MB
    if megabytes >= 1:
        return f"{megabytes:,.1f}".removesuffix(".0") + " MB"
    return f"{max(n_bytes / 1024, 1):,.0f} KB"


def _where(scanned: int) -> str:
    return f"the last {scanned:,} messages of this channel"


def no_table_file(scanned: int) -> Sentence:
    return (
        f"I found no table file (CSV, TSV, Excel or Parquet) in {_where(scanned)}.",
        "Share the file in the channel itself (files inside threads are not searched), "
        "then try again.",
    )


def ambiguous_file_name(name: str, names: list[str]) -> Sentence:
    return (
        f"“{name}” matches more than one file: {listed(names)}.",
        f"Use the whole file name, e.g. file={names[0]}",
    )


def no_file_named(name: str, scanned: int, names: list[str]) -> Sentence:
    return (
        f"I found no table file named “{name}” in {_where(scanned)}.",
        f"Table files I did see: {listed(names)}. "
        "Use one of those names, or share the file in this channel first.",
    )


def missing_permission(action: str, scope: str) -> Sentence:
    return (
        f"I couldn't {action}: the bot is missing the Slack permission `{scope}`.",
        reinstall_hint(scope),
    )


FILE_GONE: Sentence = (
    "That file is no longer on Slack: it was deleted, or the bot cannot see it.",
    "Share the file again and try again.",
)


def not_in_channel(action: str) -> Sentence:
    return (f"I couldn't {action}: the bot is not a member of this channel.", INVITE_HINT)


def channel_not_visible(action: str) -> Sentence:
    return (
        f"I couldn't {action}: the bot cannot see this channel "
        "(private channels and direct messages need an invitation).",
        INVITE_HINT,
    )


def asked_to_slow_down(action: str) -> Sentence:
    return (f"I couldn't {action}: Slack asked the bot to slow down.", RETRY_HINT)


def token_refused(action: str, code: str) -> Sentence:
    return (
        f"I couldn't {action}: Slack did not accept the bot's token ({code}).",
        "Ask whoever runs the bot to check SLACK_BOT_TOKEN or reinstall the app.",
    )


def api_error(action: str, code: str) -> Sentence:
    return (f"I couldn't {action}: Slack answered with the error `{code}`.", RETRY_HINT)


def connection_failed(action: str) -> Sentence:
    return (f"I couldn't {action}: the connection to Slack failed.", RETRY_HINT)


def no_download_link(name: str) -> Sentence:
    return (
        f"Slack gave me no download link for “{name}”: it may be a link to a file "
        "stored elsewhere (a Google Sheet, say).",
        "Download the data and share the file itself (CSV, Excel or Parquet).",
    )


def download_connection_failed(name: str, error: str) -> Sentence:
    return (
        f"I couldn't download “{name}” from Slack: the connection failed ({error}).",
        RETRY_HINT,
    )


def sign_in_page(name: str) -> Sentence:
    return (
        f"Slack sent me its sign-in page instead of “{name}”: the bot is missing the "
        "`files:read` permission.",
        reinstall_hint("files:read"),
    )


def deleted(name: str) -> Sentence:
    return (
        f"“{name}” is no longer on Slack: it was deleted.",
        "Share the file again and try again.",
    )


def download_refused(name: str, status: int) -> Sentence:
    return (f"Slack refused to give me “{name}” (HTTP {status}).", reinstall_hint("files:read"))


def download_slowed_down(name: str) -> Sentence:
    return (f"Slack asked the bot to slow down while downloading “{name}”.", RETRY_HINT)


def download_failed(name: str, status: int) -> Sentence:
    return (f"Slack could not send me “{name}” (HTTP {status}).", RETRY_HINT)


def too_large(name: str, max_bytes: int, size: int | None) -> Sentence:
    limit = size_text(max_bytes)
    return (
        f"“{name}” is {size_text(size)}; the limit is {limit}."
        if size is not None
        else f"“{name}” is larger than the limit of {limit}.",
        "Share a sample of the rows (or only the columns you need), or ask whoever runs the "
        "bot to raise AUTOML_MAX_FILE_MB.",
    )


def not_slack_link(name: str, host: str, redirected: bool) -> Sentence:
    where = "sent me on to" if redirected else "points to"
    return (
        f"I didn't download “{name}”: its link {where} {host}, which is not Slack, "
        "and I send the bot's token only to Slack.",
        "Share the file again in Slack itself; if it keeps happening, tell whoever runs the bot.",
    )
