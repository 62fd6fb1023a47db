"""The preview message and the "Train a model" modal: valid Block Kit within Slack's limits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.models.blocks import BlockElement, Option
from slack_sdk.models.views import View

from bot import preview_blocks as pb
from bot.errors import FileFetchError, PreviewFailed
from bot.preview_blocks import (
    MODAL_BLOCK_IDS,
    PREVIEW_ACTIONS_BLOCK,
    TARGET_SELECT_ACTION,
    TRAIN_BUTTON_ACTION,
    TRAIN_MODAL_CALLBACK_ID,
    parse_train_button,
    parse_train_modal,
    preview_failed_message,
    preview_message,
    preview_selection,
    train_modal,
    train_modal_context,
)
from contract.jobs import ColumnPreview, DatasetPreview
from tests.bot.blocks import context_texts, section_texts, section_with, texts
from tests.bot.test_messages import validate
from tests.fakes.slack_api import FakeSlack, fake_slack

__all__ = ["fake_slack"]

REPO = Path(__file__).resolve().parents[2]


def churn_preview(**overrides: Any) -> DatasetPreview:
    values: dict[str, Any] = {
        "file_name": "churn <Q3> & more.csv",
        "format": "csv",
        "rows": 3000,
        "columns": [
            ColumnPreview(
                name="customer_id",
                kind="identifier",
                missing=0,
                distinct=3000,
                examples=["C-00001", "C-00002", "C-00003"],
            ),
            ColumnPreview(
                name="signup_date", kind="date", missing=0, distinct=700, examples=["2024-01-05"]
            ),
            ColumnPreview(
                name="plan", kind="category", missing=12, distinct=3, examples=["basic", "pro"]
            ),
            ColumnPreview(
                name="monthly_fee", kind="number", missing=0, distinct=2900, examples=["$12.50"]
            ),
            ColumnPreview(name="notes", kind="empty", missing=3000, distinct=0, examples=[]),
            ColumnPreview(
                name="churned", kind="boolean", missing=10, distinct=2, examples=["no", "yes"]
            ),
        ],
        "suggested_target": "churned",
        "suggested_task": "classification",
        "notes": [
            "10 rows have no value in “churned”: training leaves them out.",
            "Training will leave out 2 columns: “customer_id” (identifier), “notes” (no values).",
        ],
    }
    values.update(overrides)
    return DatasetPreview.model_validate(values)


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def blocks_of(message: Any, kind: str) -> list[dict[str, Any]]:
    return [b for b in message["blocks"] if b["type"] == kind]


def actions(message: Any) -> dict[str, dict[str, Any]]:
    (block,) = blocks_of(message, "actions")
    assert block["block_id"] == PREVIEW_ACTIONS_BLOCK
    return {e["action_id"]: e for e in block["elements"]}


def check_elements(blocks: list[dict[str, Any]]) -> None:
    """slack_sdk does not validate elements nested in blocks: check each one here."""
    for block in blocks:
        elements = block.get("elements", []) if block["type"] == "actions" else []
        if block["type"] == "input":
            elements = [block["element"]]
            assert len(block["label"]["text"]) <= 2000
        for raw in elements:
            element = BlockElement.parse(raw)
            assert element is not None
            element.validate_json()
            assert len(raw.get("placeholder", {}).get("text", "")) <= 150
            assert len(raw.get("value") or "") <= 2000
            options = raw.get("options", [])
            assert len(options) <= 100
            for option in options:
                Option(**option).validate_json()
                assert 1 <= len(option["text"]["text"]) <= 75
                assert 1 <= len(option["value"]) <= 150
            if "initial_option" in raw:
                assert raw["initial_option"] in options


def check_message(message: Any) -> None:
    validate(message)
    check_elements(message["blocks"])


def validate_view(view: dict[str, Any]) -> None:
    parsed = View(**view)
    parsed.validate_json()
    assert parsed.to_dict()["blocks"]
    check_elements(view["blocks"])
    json.dumps(view)


# ---- preview_message -----------------------------------------------------------------------


def test_preview_message() -> None:
    message = preview_message(churn_preview(), "F0FILE", default_budget_s=60)
    check_message(message)
    renamed = preview_message(
        churn_preview(), file_id="F0FILE", file_name="other.csv", default_budget_s=60
    )
    assert section_texts(renamed["blocks"])[0].startswith(":bar_chart: *other.csv*: ")

    (table,) = blocks_of(message, "table")
    header, *rows = [[cell["text"] for cell in row] for row in table["rows"]]
    assert header == ["Column", "Kind", "Missing", "Distinct", "Examples"]
    assert rows[0] == ["customer_id", "identifier", "0", "3,000", "C-00001, C-00002, C-00003"]
    assert rows[4] == ["notes", "empty", "3,000", "0", "—"]
    assert rows[5][:2] == ["churned", "yes/no"]

    blocks = message["blocks"]
    assert section_texts(blocks)[0] == (
        ":bar_chart: *churn &lt;Q3&gt; &amp; more.csv*: 3,000 rows × 6 columns (CSV)"
    )
    assert section_with(blocks, "*Suggested target:*").startswith(
        "*Suggested target:* `churned`, so classification"
    )
    notes = section_with(blocks, "*Notes*").splitlines()
    assert "• 10 rows have no value in “churned”: training leaves them out." in notes
    (how,) = context_texts(blocks)
    assert how.startswith("*Train* searches for the best model for 1 min 00 s.")
    assert "churned" in message["text"]

    elements = actions(message)
    menu = elements[TARGET_SELECT_ACTION]
    assert menu["type"] == "static_select"
    assert menu["initial_option"]["value"] == "churned"
    values = [o["value"] for o in menu["options"]]
    # Likely targets first, then the rest, every column choosable.
    assert values == ["plan", "monthly_fee", "churned", "customer_id", "signup_date", "notes"]
    button = elements[TRAIN_BUTTON_ACTION]
    assert button["style"] == "primary"
    assert button["value"] == '{"file_id":"F0FILE","target":"churned"}'
    assert parse_train_button(button["value"]) == ("F0FILE", "churned")


def test_wide_table_with_long_names_stays_within_limits() -> None:
    columns = [
        ColumnPreview(
            name=f"feature_{i}_" + "x" * (i % 4) * 60,  # names up to 190 characters
            kind="number",
            missing=i,
            distinct=i * 10,
            examples=["1.5", "2" * 80],
        )
        for i in range(149)
    ]
    columns.append(
        ColumnPreview(name="label", kind="category", missing=0, distinct=2, examples=["a", "b"])
    )
    preview = churn_preview(
        columns=columns,
        suggested_target="label",
        notes=[f"note {i}: " + "w" * 50 for i in range(200)],
    )
    message = preview_message(preview, "F0WIDE", default_budget_s=300)
    check_message(message)

    (table,) = blocks_of(message, "table")
    assert len(table["rows"]) == 100
    assert all(len(cell["text"]) <= 60 for row in table["rows"] for cell in row)
    shown_first, how = context_texts(message["blocks"])
    assert shown_first == "Showing the first 99 of 150 columns."
    assert "The menu lists 100 of the 150 columns." in how
    notes = section_with(message["blocks"], "*Notes*")
    assert notes.endswith("…and 152 more")  # notes cut with a count

    menu = actions(message)[TARGET_SELECT_ACTION]
    options = menu["options"]
    assert len(options) == 100
    assert all(len(o["text"]["text"]) <= 75 for o in options)
    assert all(len(o["value"]) <= 150 for o in options)
    assert len({o["value"] for o in options}) == 100
    # The suggested target sits far right, beyond the first 100: it is still offered.
    assert options[0]["value"] == "label"
    assert menu["initial_option"] == options[0]


def test_no_suggested_target() -> None:
    preview = churn_preview(suggested_target=None, suggested_task=None, notes=[])
    message = preview_message(preview, "F0X", default_budget_s=60)
    check_message(message)
    assert section_with(message["blocks"], "*Target:*").endswith("pick one below.")
    menu = actions(message)[TARGET_SELECT_ACTION]
    assert "initial_option" not in menu
    assert parse_train_button(actions(message)[TRAIN_BUTTON_ACTION]["value"]) == ("F0X", None)


def test_no_columns_has_only_the_button() -> None:
    preview = churn_preview(columns=[], rows=0, suggested_target=None, suggested_task=None)
    message = preview_message(preview, "F0X", default_budget_s=60)
    check_message(message)
    assert list(actions(message)) == [TRAIN_BUTTON_ACTION]


def test_a_target_too_long_for_the_button_is_left_to_the_menu() -> None:
    long_name = "y" * 2100
    value = pb.train_button_value("F0X", long_name)
    assert len(value) <= 2000
    assert parse_train_button(value) == ("F0X", None)


def test_backticks_in_a_target_do_not_break_the_code_span() -> None:
    columns = [ColumnPreview(name="a`b", kind="category", missing=0, distinct=2)]
    message = preview_message(
        churn_preview(columns=columns, suggested_target="a`b"), "F", default_budget_s=60
    )
    check_message(message)
    assert section_with(message["blocks"], "*Suggested target:*").startswith(
        "*Suggested target:* `a'b`,"
    )


def test_preview_selection_reads_the_menu_state() -> None:
    state = {
        PREVIEW_ACTIONS_BLOCK: {
            TARGET_SELECT_ACTION: {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "plan"},
                    "value": "plan",
                },
            }
        }
    }
    assert preview_selection(state) == "plan"
    assert preview_selection({}) is None
    untouched = {PREVIEW_ACTIONS_BLOCK: {TARGET_SELECT_ACTION: {"selected_option": None}}}
    assert preview_selection(untouched) is None


def test_slack_accepts_the_preview(fake_slack: FakeSlack) -> None:
    client = WebClient(token=fake_slack.bot_token, base_url=fake_slack.url)
    shared = fake_slack.add_file("churn.csv", b"a,b\n1,2\n", channel="C0GENERAL")
    message = preview_message(churn_preview(), shared["id"], default_budget_s=60)
    client.chat_postMessage(channel="C0GENERAL", thread_ts=shared["message_ts"], **message)
    reply = fake_slack.thread("C0GENERAL", shared["message_ts"])[-1]
    assert reply["blocks"] == message["blocks"]


# ---- preview_failed_message ----------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        PreviewFailed(
            "`photo.csv` is not a table I can read: it is a JPEG image.",
            "Share the data itself as CSV, Excel (.xlsx) or Parquet.",
            code="not_a_table",
        ),
        FileFetchError("Slack sent me its sign-in page <html>.", "", code="missing_scope"),
        PreviewFailed("x" * 5000, "y" * 5000),
    ],
)
def test_preview_failed_message(error: PreviewFailed) -> None:
    message = preview_failed_message("photo <1>.csv", error)
    check_message(message)
    blocks = message["blocks"]
    assert section_texts(blocks)[0] == ":warning: *I couldn't preview photo &lt;1&gt;.csv.*"
    assert context_texts(blocks) == [f"error `{error.code}`"]
    assert not [text for text in texts(blocks) if "<html>" in text]  # escaped, if said
    what_to_do = [text for text in section_texts(blocks) if text.startswith("*What to do:*")]
    assert len(what_to_do) == (1 if error.hint else 0)


# ---- the modal -----------------------------------------------------------------------------


def modal(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "channel_id": "C0GENERAL",
        "message_ts": "1764151773.000100",
        "file_id": "F0FILE",
        "file_name": "churn <Q3>.csv",
        "default_budget_s": 60,
    }
    values.update(overrides)
    return train_modal(**values)


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def test_modal_with_columns() -> None:
    view = modal(columns=["plan", "tenure", "churned"], suggested_target="churned")
    validate_view(view)
    assert view["callback_id"] == TRAIN_MODAL_CALLBACK_ID
    assert view["title"]["text"] == "Train a model"
    fields = inputs(view)
    assert list(fields) == ["target", "time", "task", "metric", "exclude", "keep", "share"]
    target = fields["target"]
    assert target["optional"] is False
    assert target["element"]["type"] == "static_select"
    assert [o["value"] for o in target["element"]["options"]] == ["plan", "tenure", "churned"]
    assert target["element"]["initial_option"]["value"] == "churned"
    for name in ("time", "metric", "exclude", "keep"):
        assert fields[name]["optional"] is True
        assert fields[name]["element"]["type"] == "plain_text_input"
        assert fields[name]["element"]["action_id"] == name
    task = fields["task"]["element"]
    assert [o["value"] for o in task["options"]] == ["auto", "classification", "regression"]
    assert task["initial_option"]["value"] == "auto"
    assert {f: f for f in ("target", "time", "task", "metric", "exclude", "keep", "share")} == (
        MODAL_BLOCK_IDS
    )
    assert fields["keep"]["label"]["text"] == "Columns to keep"
    assert "suspected leak" in fields["keep"]["hint"]["text"]
    assert fields["time"]["element"]["placeholder"]["text"] == "60s or 5m"
    assert view["blocks"][0]["type"] == "section"
    assert view["blocks"][0]["text"]["text"] == "Train a model on *churn &lt;Q3&gt;.csv*."
    assert train_modal_context(view["private_metadata"]) == {
        "channel_id": "C0GENERAL",
        "message_ts": "1764151773.000100",
        "file_id": "F0FILE",
    }
    assert len(view["private_metadata"]) <= 3000


@pytest.mark.parametrize(
    "columns",
    [None, [f"c{i}" for i in range(101)], ["ok", "z" * 151]],
    ids=["none", "too many for a menu", "a name too long for a value"],
)
def test_modal_target_falls_back_to_a_text_field(columns: list[str] | None) -> None:
    view = modal(columns=columns, suggested_target="ok")
    validate_view(view)
    element = inputs(view)["target"]["element"]
    assert element["type"] == "plain_text_input"
    assert element["initial_value"] == "ok"


def test_parse_train_modal() -> None:
    state = {
        "target": {
            "target": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "x"},
                    "value": "churned",
                },
            }
        },
        "time": {"time": {"type": "plain_text_input", "value": " 5m "}},
        "task": {"task": {"type": "static_select", "selected_option": {"value": "regression"}}},
        "metric": {"metric": {"type": "plain_text_input", "value": None}},
        "exclude": {"exclude": {"type": "plain_text_input", "value": "id, notes"}},
        "keep": {"keep": {"type": "plain_text_input", "value": " store_id "}},
        "share": {"share": {"type": "checkboxes", "selected_options": [{"value": "channel"}]}},
    }
    assert parse_train_modal(state) == {
        "target": "churned",
        "time": "5m",
        "task": "regression",
        "metric": "",
        "exclude": "id, notes",
        "keep": "store_id",
        "share": "channel",
    }
    typed = {"target": {"target": {"type": "plain_text_input", "value": "price"}}}
    assert parse_train_modal(typed) == {
        "target": "price",
        "time": "",
        "task": "",
        "metric": "",
        "exclude": "",
        "keep": "",
        "share": "",
    }


def test_slack_opens_the_modal(fake_slack: FakeSlack) -> None:
    client = WebClient(token=fake_slack.bot_token, base_url=fake_slack.url)
    view = modal(columns=["a", "b"])
    opened = client.views_open(trigger_id=fake_slack.trigger_id(), view=view)
    assert opened["view"]["callback_id"] == TRAIN_MODAL_CALLBACK_ID


# ---- imports -------------------------------------------------------------------------------


def test_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, bot.preview_blocks\n"
        "print(sorted({'pandas', 'numpy', 'slack_sdk', 'slack_bolt'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
