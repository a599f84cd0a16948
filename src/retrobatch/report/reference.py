"""The reference: finding codes, impact.com's errors and the templates' columns, as text and docs.

`retrobatch explain` and `retrobatch columns` print from here, and `docs/findings.md`,
`docs/impact-errors.md` and `docs/formats.md` are rendered from the same data (findings.CATALOGUE,
impact_errors.ERRORS, the template schemas), so the docs cannot drift from the code: after
changing any of them run `python -m retrobatch.report.reference` (a test fails until you do).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from retrobatch.csvfile.templates import Column, Template, load_template
from retrobatch.findings import CATALOGUE, Entry
from retrobatch.reconcile import impact_errors
from retrobatch.reconcile.impact_errors import ImpactError
from retrobatch.repository import schemas

# What a template is for, in a sentence or two, beyond what its schema's columns say.
_TEMPLATE_NOTES = {
    "order-level": "One row per order. Amount is optional: impact.com requires it only with "
    "item details, and a lead or an install has none.",
    "item-level": "One row per line item; the lines of one order are consecutive, each Sku "
    "once per order, with exactly one of ItemPrice, ItemSubtotal or Amount.",
    "chained": "Child actions tied to a parent by the same CustomerId. A file may mix the "
    "parent's and the children's event types, as impact.com's own sample does; an "
    "ActionTrackerId that retrobatch.yaml does not know is a warning.",
    "modifications": "Changes and reversals of existing actions: Amount is the new total and 0 "
    "reverses. An action is named by ActionId (reaches older actions too) or by OrderId with "
    "ActionTrackerId (the newest action of that order). A reset file, `Oid,ActionTrackerId,"
    "Reason` with Reason RESET, undoes earlier modifications.",
    "item-modifications": "Changes to line items of existing actions (impact.com's older "
    "reference); Sku1, Quantity1, ... are checked like Sku and Quantity. impact.com's item "
    "updates use the reason ORDER_UPDATE.",
}


def finding_entry(code: str, entry: Entry) -> list[str]:
    return [
        f"{code} ({entry.severity}): {entry.when}",
        f"  rule of:  {entry.owner}",
        f"  {'source:' if entry.owner != 'retrobatch' else 'why:':<9} {entry.source}",
        f"  fix:      {entry.fix}",
    ]


def impact_error_entry(code: str, entry: ImpactError) -> list[str]:
    caught = ", ".join(entry.caught_by) or "none: the cause is in impact.com's account data"
    return [
        f"{code} (impact.com processing error): {entry.meaning}",
        f"  to do:    {entry.fix}",
        f"  check:    {caught}",
        f"  source:   {entry.source}",
    ]


def explain(code: str) -> str | None:
    """A finding code's or an impact.com error's entry, or None when neither knows it."""
    if code in CATALOGUE:
        return "\n".join(finding_entry(code, CATALOGUE[code]))
    known = impact_errors.lookup(code)
    if known is not None:
        return "\n".join(impact_error_entry(code.strip().upper(), known))
    return None


def known_codes() -> list[str]:
    return [*CATALOGUE, *impact_errors.ERRORS]


def required(template: Template, column: Column) -> str:
    """Whether a row needs the column: yes, one of a group, for app destinations, or no."""
    if column.required:
        return "yes"
    for group in template.groups:
        if any(column.name in alt for alt in group.alternatives):
            return f"one {group.label}" + (" (only one)" if group.exactly else "")
    if column.keywords.get("x-required-for-app"):
        return "for app destinations"
    return "no"


def columns_text(template: Template) -> str:
    out = [f"{template.name}: {_TEMPLATE_NOTES.get(template.name, '')}".rstrip(), ""]
    for column in template.columns.values():
        aliases = f" (also {', '.join(column.aliases)})" if column.aliases else ""
        out.append(f"{column.name}{aliases}")
        out.append(f"  required: {required(template, column)}")
        out.append(f"  format:   {column.format()}")
        out.append(f"  meaning:  {column.description}")
    out += _template_facts(template, "  ")
    return "\n".join(out)


def _template_facts(template: Template, indent: str = "") -> list[str]:
    out: list[str] = []
    for group in template.groups:
        need = "exactly one" if group.exactly else "at least one"
        out.append(f"{indent}{group.label}: {need} of {group.describe()}")
    for column in template.with_keyword("x-default-codes"):
        codes = ", ".join(column.keywords["x-default-codes"])
        out.append(f"{indent}default reason codes: {codes}; plus custom_reason_codes")
    for pattern, column_name in template.indexed:
        out.append(f"{indent}also {pattern.pattern} (checked like {column_name})")
    return ["", *out] if out else []


# --- docs/ ------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def findings_markdown() -> str:
    out = [
        "# Finding codes",
        "",
        "Every code `retrobatch check` reports, whose rule it is, and how to fix it. A rule of "
        "impact.com names the impact.com page that states it; a rule of retrobatch is a policy "
        "and says why. A policy that impact.com would accept is a warning, unless the reason "
        "names a harm. `retrobatch explain CODE` prints one entry. Rendered from "
        "`src/retrobatch/findings.py`.",
        "",
    ]
    for code, entry in CATALOGUE.items():
        why = "Source" if entry.owner != "retrobatch" else "Why"
        out += [
            f"## {code}",
            "",
            f"- Severity: {entry.severity}",
            f"- When: {entry.when}",
            f"- Rule of: {entry.owner}",
            f"- {why}: {entry.source}",
            f"- Fix: {entry.fix}",
            "",
        ]
    return "\n".join(out)


def impact_errors_markdown() -> str:
    out = [
        "# impact.com's processing errors",
        "",
        "After a file is processed, `retrobatch reconcile` records impact.com's errors in the "
        "receipt and `retrobatch status ID` shows each on its CSV row with what it means, what "
        "to do and, where a file could have shown the cause, the finding code with which "
        "`retrobatch check` now stops it before sending. impact.com's list is not complete: a "
        "code not below is kept and shown as impact.com sent it. `retrobatch explain CODE` "
        "prints one entry. Rendered from `src/retrobatch/reconcile/impact_errors.py`.",
        "",
        "## What reconcile reads",
        "",
        "`GET /Advertisers/{AccountSID}/FTPFileSubmissions` lists the files (matched to sent "
        "parts by `FileName`), and `.../FTPFileSubmissions/{BatchId}/ErrorDetails` their "
        "errors: the list `ErrorDetail` (v14 API reference; an answer without it is read from "
        "its first list), each with `Line`, `OrderId`, `Sku`, `Status` (`Validation` or "
        "`Contract Error`), `Reason`, and for mobile actions `EventCode`, plus `Uri`. A "
        "Complete file with 0 records was not read as CSV.",
        "",
    ]
    for code, entry in impact_errors.ERRORS.items():
        caught = ", ".join(f"`{c}`" for c in entry.caught_by)
        out += [
            f"## {code}",
            "",
            f"- Means: {entry.meaning}",
            f"- To do: {entry.fix}",
            f"- Caught by check: {caught or 'no: the cause is in impact.com account data'}",
            f"- Source: {entry.source}",
            "",
        ]
    return "\n".join(out)


def formats_markdown() -> str:
    out = [
        "# File formats",
        "",
        "The columns of each template, as `retrobatch columns TEMPLATE` prints them. Header "
        "names match in any case; aliases name the same column; column order is free; extra "
        "columns are allowed (a warning suggests the nearest known name). Every cell is a plain "
        "value, never a formula. Rendered from the schemas in `schemas/`.",
        "",
    ]
    for name in schemas.TEMPLATES:
        template = load_template(name)
        out += [f"## {name}", "", _TEMPLATE_NOTES.get(name, ""), ""]
        out += ["| column | aliases | required | format | meaning |", "|---|---|---|---|---|"]
        for column in template.columns.values():
            cells = [
                column.name,
                ", ".join(column.aliases),
                required(template, column),
                column.format(),
                column.description,
            ]
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        out += [f"- {fact.strip()}" if fact else "" for fact in _template_facts(template)]
        out.append("")
    return "\n".join(out)


PAGES: dict[str, Callable[[], str]] = {
    "docs/findings.md": findings_markdown,
    "docs/impact-errors.md": impact_errors_markdown,
    "docs/formats.md": formats_markdown,
}


def write_docs(root: Path) -> list[Path]:
    """Render the generated pages of docs/ under `root` (the project's checkout)."""
    written = []
    for rel, render in PAGES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_docs(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()):
        print(path)
