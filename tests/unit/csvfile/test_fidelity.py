"""impact.com's own examples pass `check`; what impact.com rejects still fails, with the right code.

Each fixture names the impact.com page it comes from. Values the page leaves open (a second
row, the date of a file) are filled in so the file is otherwise valid.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from retrobatch.csvfile.validate import CsvContext, CsvResult, check_csv

AS_OF = dt.datetime(2026, 11, 27, 23, 59, 59, tzinfo=dt.UTC)
CTX = CsvContext(event_type=12345, as_of=AS_OF, known_event_types=frozenset({12345, 45678}))
REL = "submissions/2026-11-27-fidelity/batch.csv"


def check(tmp_path: Path, text: str, template: str, **ctx: object) -> CsvResult:
    path = tmp_path / "batch.csv"
    path.write_text(text)
    return check_csv(path, REL, template, dataclasses.replace(CTX, **ctx))  # type: ignore[arg-type]


def codes(result: CsvResult) -> list[tuple[str, int | None, str | None]]:
    return [(f.code, f.line, f.column) for f in result.findings]


# integrations.impact.com/impact-brand/docs/chained-actions, "Chained Actions Template": a parent
# (event type 45678) and its child (12345) with the same CustomerId, in one file. Its dates are in
# 2038, so it is checked as of the day after.
CHAINED_SAMPLE = """\
CampaignId,ActionTrackerId,CustomerId,OrderId,EventDate,Amount,CurrencyCode,ClickId
1111,45678,R523GSSD2,9876543,2038-01-19T00:26:05+00,123.45,USD,ZfXLH51WY5DghyMkWGJ7CpX3O0IyPqM2c5e3t5Z
1111,12345,R523GSSD2,8765432,2038-01-20T00:29:51+00,98.76,USD,r1NJgMzZnYtKETog6J5yVBCPi152BwWzlRXBaYk
"""
AFTER_SAMPLE = dt.datetime(2038, 1, 21, tzinfo=dt.UTC)


def test_impact_chained_sample_passes(tmp_path: Path) -> None:
    result = check(tmp_path, CHAINED_SAMPLE, "chained", as_of=AFTER_SAMPLE)
    assert codes(result) == []
    assert result.stats.rows == 2


def test_a_chained_event_type_the_repository_does_not_know_is_a_warning(tmp_path: Path) -> None:
    result = check(tmp_path, CHAINED_SAMPLE, "chained", as_of=AFTER_SAMPLE,
                   known_event_types=frozenset({12345}))  # fmt: skip
    assert codes(result) == [("csv.chained-event-type", 2, "ActionTrackerId")]
    assert result.findings[0].severity == "warning"


def test_other_templates_still_reject_a_second_event_type(tmp_path: Path) -> None:
    text = (
        "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId\n"
        "1111,45678,2026-11-20T10:00:00Z,A-1,clk\n"
    )
    assert codes(check(tmp_path, text, "order-level")) == [
        ("csv.event-type-mismatch", 2, "ActionTrackerId")
    ]


# integrations.impact.com/brand-api-reference/reference/actions/actions: ActionId example
# 1000.4636.158133; help.impact.com article 48001235643 (batch modifications for mobile
# actions): mobile ActionIds start with M. A TEST_ACTION reversal (Amount 0) of each.
MODIFICATIONS = """\
ActionId,Amount,Reason
1000.4636.158133,0,TEST_ACTION
M1000.4636.158134,0,TEST_ACTION
1000.4636.158135,12.50,PARTNER_NOT_ACTIVE
1000.4636.158136,0,CREDITED_DIFFERENT_MP
1000.4636.158137,0,OTHER
"""


def test_impact_action_ids_and_reason_codes_pass(tmp_path: Path) -> None:
    result = check(tmp_path, MODIFICATIONS, "modifications")
    assert codes(result) == []
    assert set(result.actions) == {
        "id:1000.4636.158133",
        "id:M1000.4636.158134",
        "id:1000.4636.158135",
        "id:1000.4636.158136",
        "id:1000.4636.158137",
    }


@pytest.mark.parametrize("action_id", ["1000..4636", ".1000", "1000.", "m1000", "M", "1000 4636"])
def test_an_action_id_that_is_neither_form_is_still_a_type_error(
    tmp_path: Path, action_id: str
) -> None:
    text = f"ActionId,Amount,Reason\n{action_id},0,TEST_ACTION\n"
    assert codes(check(tmp_path, text, "modifications")) == [("csv.type", 2, "ActionId")]


def test_item_modifications_accept_dotted_ids_and_suggest_order_update(tmp_path: Path) -> None:
    text = (
        "ActionId,Sku,Quantity,Reason\n"
        "1000.4636.158133,SKU-1,0,ORDER_UPDATE\n"
        "M1000.4636.158134,SKU-2,0,ITEM_RETURNED\n"
        "1000.4636.158135,SKU-3,1,RESET\n"
    )
    result = check(tmp_path, text, "item-modifications")
    assert codes(result) == [("csv.item-reason", 3, "Reason")]
    assert result.findings[0].severity == "warning"


# help.impact.com article 48001238187 (reset batch modifications): exactly Oid,ActionTrackerId,
# Reason, and RESET "the only accepted value".
RESET_FILE = "Oid,ActionTrackerId,Reason\nA-1001,12345,RESET\nA-1002,12345,RESET\n"


def test_impact_reset_file_passes(tmp_path: Path) -> None:
    result = check(tmp_path, RESET_FILE, "modifications")
    assert codes(result) == []
    assert set(result.actions) == {"order:A-1001:12345", "order:A-1002:12345"}


def test_a_reason_in_the_wrong_case_still_fails(tmp_path: Path) -> None:
    text = RESET_FILE.replace("A-1002,12345,RESET", "A-1002,12345,test_action")
    assert codes(check(tmp_path, text, "modifications")) == [("csv.reason", 3, "Reason")]


# integrations.impact.com/impact-brand/docs/order-level-data: Amount is "Required if passing
# item-level details, otherwise optional"; a lead carries none.
LEAD = """\
CampaignId,ActionTrackerId,EventDate,OrderId,CustomerId
1111,12345,2026-11-20T10:00:00-08:00,LEAD-1,cust-1
"""


def test_impact_order_level_lead_without_amount_passes(tmp_path: Path) -> None:
    assert codes(check(tmp_path, LEAD, "order-level")) == []


def test_item_level_still_needs_a_price(tmp_path: Path) -> None:
    text = (
        "CampaignId,ActionTrackerId,EventDate,OrderId,CustomerId,Sku,Category,Quantity\n"
        "1111,12345,2026-11-20T10:00:00Z,A-1,cust-1,S,shoes,1\n"
    )
    assert codes(check(tmp_path, text, "item-level")) == [("csv.missing-column", 1, None)]


# integrations.impact.com/impact-brand/reference/the-conversion-object: UniqueUrl and the
# device ids are attribution keys.
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("UniqueUrl", "https://partner.example/c/1111/2222/3333"),
        ("CustomClickId", "my-click-1"),
        ("CallerId", "+15555550100"),
        ("GoogAId", "38400000-8cf0-11bd-b23e-10b96e40000d"),
        ("AppleIfa", "EA7583CD-A667-48BC-B806-42ECB2B48606"),
        ("AppleIfv", "4A2F0C1B-77F6-4D59-A7E5-3C1AC2C9F0E3"),
        ("AndroidId", "9774d56d682e549c"),
    ],
)
def test_a_row_attributed_by_any_documented_key_passes(
    tmp_path: Path, key: str, value: str
) -> None:
    text = (
        f"CampaignId,ActionTrackerId,EventDate,OrderId,Amount,{key}\n"
        f"1111,12345,2026-11-20T10:00:00Z,A-1,10.00,{value}\n"
    )
    assert codes(check(tmp_path, text, "order-level")) == []


def test_a_row_without_any_attribution_key_still_fails(tmp_path: Path) -> None:
    text = (
        "CampaignId,ActionTrackerId,EventDate,OrderId,UniqueUrl,ClickId\n"
        "1111,12345,2026-11-20T10:00:00Z,A-1,,\n"
    )
    assert codes(check(tmp_path, text, "order-level")) == [("csv.no-attribution", 2, "ClickId")]


def test_custom_customer_status_is_a_warning_and_new_existing_are_fine(tmp_path: Path) -> None:
    text = LEAD.replace("CustomerId\n", "CustomerId,CustomerStatus\n").replace(
        "cust-1\n", "cust-1,Returning\n"
    )
    text += "1111,12345,2026-11-20T10:00:00Z,LEAD-2,cust-2,existing\n"
    result = check(tmp_path, text, "order-level")
    assert codes(result) == [("csv.customer-status", 2, "CustomerStatus")]
    assert result.findings[0].severity == "warning"
    too_long = text.replace("Returning", "x" * 41)
    assert codes(check(tmp_path, too_long, "order-level"))[0] == (
        "csv.too-long", 2, "CustomerStatus"
    )  # fmt: skip


def test_event_type_code_up_to_128_characters(tmp_path: Path) -> None:
    row = "1111,{code},2026-11-20T10:00:00Z,A-1,cust-1\n"
    header = "CampaignId,EventTypeCode,EventDate,OrderId,CustomerId\n"
    assert codes(check(tmp_path, header + row.format(code="e" * 128), "order-level")) == []
    assert codes(check(tmp_path, header + row.format(code="e" * 129), "order-level")) == [
        ("csv.too-long", 2, "EventTypeCode")
    ]


@pytest.mark.parametrize(
    ("when", "words"),
    [
        ("NOW", "is NOW, which impact.com stamps with the processing time: retrobatch policy"),
        ("2026-11-20", "has no time of day: retrobatch policy"),
        ("2026-11-20T10:00:00", "has no offset: retrobatch policy"),
        ("20/11/2026", "is not an ISO 8601 date-time"),
    ],
)
def test_date_messages_say_which_rule_is_retrobatch_policy(
    tmp_path: Path, when: str, words: str
) -> None:
    result = check(tmp_path, LEAD.replace("2026-11-20T10:00:00-08:00", when), "order-level")
    assert codes(result) == [("csv.bad-date", 2, "EventDate")]
    assert words in result.findings[0].message
    assert ("retrobatch policy" in result.findings[0].message) == (when != "20/11/2026")


def test_event_tracker_id_is_no_alias_it_is_undocumented(tmp_path: Path) -> None:
    text = LEAD.replace("ActionTrackerId", "EventTrackerId")
    assert ("csv.unknown-column", 1, "EventTrackerId") in codes(
        check(tmp_path, text, "order-level")
    )


def test_both_modification_templates_know_the_same_default_reason_codes() -> None:
    from retrobatch.csvfile.templates import load_template

    lists = [
        load_template(name).columns["Reason"].keywords["x-default-codes"]
        for name in ("modifications", "item-modifications")
    ]
    assert lists[0] == lists[1]
    assert {"TEST_ACTION", "PARTNER_NOT_ACTIVE", "CREDITED_DIFFERENT_MP", "OTHER"} <= set(lists[0])
