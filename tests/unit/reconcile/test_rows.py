"""Placing impact.com's errors on rows, for receipts a person may have edited."""

from __future__ import annotations

from pathlib import Path

from retrobatch.reconcile.rows import explain_errors
from retrobatch.repository.receipts import EmailPart, Processing, Receipt
from support.repo_factory import RepoFactory, item_rows

SUB = "2026-11-20-outage"


def test_a_part_name_with_thousands_of_digits_is_no_part_and_no_traceback(
    tmp_path: Path,
) -> None:
    """Python refuses to turn more than 4,300 digits into an int: such a name is not read as
    `part-N-of-M`, so the error is placed by its OrderId instead."""
    factory = RepoFactory(tmp_path / "repo")
    folder = factory.submission(SUB, item_rows("A-1", "A-2"))
    digits = "9" * 5000
    name = f"{SUB}.part-{digits}-of-{digits}.csv"
    receipt = Receipt(
        SUB,
        "sent",
        emails=[EmailPart(name, "sent", "0" * 64, 2, "<m@x>", "a@b")],
        processing=[
            Processing(
                name,
                "Complete",
                "2026-11-21T00:00:00Z",
                errors=[{"line": 2, "order_id": "A-2", "reason": "CONV_DUPLICATE"}],
            )
        ],
    )
    (mapped,) = explain_errors(factory.root, receipt, folder)
    assert (mapped.order_id, mapped.placed_by) == ("A-2", "order_id")
    assert mapped.note is not None and "sha256" in mapped.note
