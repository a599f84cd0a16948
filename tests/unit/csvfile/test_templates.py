import json

import pytest
from jsonschema import Draft202012Validator

from retrobatch.csvfile.templates import column_index, load_template, map_header
from retrobatch.repository import schemas

ITEM_HEADER = [
    "CampaignId", "ActionTrackerId", "EventDate", "OrderId", "ClickId", "CustomerId",
    "CurrencyCode", "Amount", "Category", "Sku", "Quantity",
]  # fmt: skip


@pytest.mark.parametrize("name", schemas.TEMPLATES)
def test_template_schemas_are_valid_draft_2020_12(name: str) -> None:
    schema = schemas.load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is True
    assert "date-time" not in json.dumps(schema)


@pytest.mark.parametrize("name", schemas.TEMPLATES)
def test_every_alias_names_a_column_of_its_template(name: str) -> None:
    template = load_template(name)
    for alias, canonical in template.schema.get("x-aliases", {}).items():
        assert canonical in template.columns, alias


def test_impact_minimum_item_header_resolves_without_problems() -> None:
    header = map_header(load_template("item-level"), ITEM_HEADER)
    assert header.problems == ()
    assert header.index["OrderId"] == 3


def test_names_match_in_any_case_and_through_aliases() -> None:
    fields = ["campaignid", "EventTypeID", "EVENTDATE", "Oid", "clickid", "Currency", "amount"]
    header = map_header(load_template("order-level"), fields)
    assert header.problems == ()
    assert header.index["ActionTrackerId"] == 1
    assert header.index["CurrencyCode"] == 5
    assert header.name_of("OrderId") == "Oid"


def test_alias_and_canonical_together_are_a_duplicate() -> None:
    fields = ["CampaignId", "ActionTrackerId", "EventDate", "OrderId", "Oid", "ClickId", "Amount"]
    header = map_header(load_template("order-level"), fields)
    assert [(p.code, p.column) for p in header.problems] == [("csv.duplicate-column", "Oid")]
    assert header.columns[4] is None


def test_unknown_column_suggests_the_nearest_name() -> None:
    fields = ["CampaignId", "ActionTrackerId", "EventDate", "OderId", "ClickId", "Amount"]
    header = map_header(load_template("order-level"), fields)
    codes = sorted((p.code, p.column) for p in header.problems)
    assert codes == [("csv.missing-column", None), ("csv.unknown-column", "OderId")]
    unknown = next(p for p in header.problems if p.code == "csv.unknown-column")
    assert "did you mean 'OrderId'" in unknown.message


def test_missing_attribution_and_price_columns_are_one_finding_each() -> None:
    fields = [
        "CampaignId",
        "ActionTrackerId",
        "EventDate",
        "OrderId",
        "Category",
        "Sku",
        "Quantity",
    ]
    header = map_header(load_template("item-level"), fields)
    messages = [p.message for p in header.problems]
    assert [p.code for p in header.problems] == ["csv.missing-column", "csv.missing-column"]
    assert any("attribution key" in m for m in messages)
    assert any("ItemPrice or ItemSubtotal or Amount" in m for m in messages)


def test_modifications_need_action_id_or_order_and_tracker() -> None:
    template = load_template("modifications")
    assert map_header(template, ["ActionId", "Amount", "Reason"]).problems == ()
    assert map_header(template, ["Oid", "EventTypeId", "Reason"]).problems == ()
    problems = map_header(template, ["OrderId", "Amount", "Reason"]).problems
    assert [p.code for p in problems] == ["csv.missing-column"]
    assert "ActionId or OrderId+ActionTrackerId" in problems[0].message


def test_app_destinations_require_event_code() -> None:
    template = load_template("order-level")
    fields = ["CampaignId", "ActionTrackerId", "EventDate", "OrderId", "ClickId", "Amount"]
    assert map_header(template, fields).problems == ()
    problems = map_header(template, fields, app=True).problems
    assert [(p.code, "EventCode" in p.message) for p in problems] == [("csv.missing-column", True)]


def test_column_index_finds_aliases_and_ignores_a_bom() -> None:
    assert column_index("item-level", ["\ufeffoid", "Sku"], "OrderId") == 0
    assert column_index("item-level", ["Sku", "ORDERID"], "OrderId") == 1
    assert column_index("item-level", ["Sku"], "OrderId") is None


def test_cell_rules_come_from_the_schema() -> None:
    columns = load_template("order-level").columns
    assert columns["Amount"].problem("999999.99") is None
    assert columns["Amount"].problem("1000000")[0] == "csv.type"  # type: ignore[index]
    assert columns["Amount"].problem("-1")[0] == "csv.type"  # type: ignore[index]
    assert columns["Amount"].problem("=SUM(A1)")[0] == "csv.formula"  # type: ignore[index]
    assert columns["CustomerId"].problem("ana@brand.example")[0] == "csv.plain-email"  # type: ignore[index]
    assert columns["OrderId"].problem("x" * 65)[0] == "csv.too-long"  # type: ignore[index]
    assert columns["EventDate"].problem("NOW")[0] == "csv.bad-date"  # type: ignore[index]
    assert columns["EventDate"].problem("2026-11-20T10:00+00") is None
    assert columns["CustomerStatus"].problem("eXisting") is None


def test_typed_columns_can_be_checked_a_whole_column_at_a_time() -> None:
    columns = load_template("item-level").columns
    for name in ("CampaignId", "EventDate", "Amount", "CurrencyCode", "Quantity", "MediaId"):
        assert columns[name].joined_pattern is not None, name
    assert all(p is not None for p in columns["CustomerId"].joined_forbidden)


def test_indexed_item_modification_columns_are_known_and_checked_like_their_column() -> None:
    template = load_template("item-modifications")
    header = map_header(template, ["ActionId", "Reason", "Sku", "sku2", "Quantity2"])
    assert header.problems == ()
    assert header.columns[3] is template.columns["Sku"]
    assert header.index["Sku"] == 2  # the indexed form is never the column itself
    problems = map_header(template, ["ActionId", "Reason", "Sku2"]).problems
    assert [p.code for p in problems] == ["csv.missing-column"]  # Sku itself is still required
