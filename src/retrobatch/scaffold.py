"""Authoring: a new submission folder, and a new submissions repository.

The workflows, CODEOWNERS and starter files live once, as package data in `skeleton/`. This
project's own `.github/` is rendered from them (installing retrobatch from the checkout) and a
test keeps it identical; `init` renders them installing the released version from PyPI.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import git

from retrobatch import __version__
from retrobatch.csvfile.templates import is_conversion
from retrobatch.errors import UsageError
from retrobatch.repository.cachedir import cache_dir
from retrobatch.repository.manifest import MANIFEST_FILE
from retrobatch.repository.schemas import TEMPLATES, load_schema
from retrobatch.repository.settings import SETTINGS_FILE, Settings
from retrobatch.repository.submissions import SUBMISSIONS_DIR

WORKFLOWS = ("check.yml", "submit.yml", "reconcile.yml", "resolve.yml")
SETUP_ACTION = "actions/setup-retrobatch/action.yml"  # the steps the workflows share
REQUIREMENT_MARK = "@RETROBATCH_REQUIREMENT@"
CHECKOUT_REQUIREMENT = "."  # this project's own workflows install the checked-out code

# The starter header of each template: impact.com's own minimal examples
# (docs/formats.md), which also name the columns people nearly always need (Amount on
# modifications, CurrencyCode) that the schemas leave optional. A test checks each against its
# template schema, the one source of column facts: every required column, one alternative of
# each "one of" group, nothing unknown.
MINIMAL_HEADERS = {
    "item-level": "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,CustomerId,CurrencyCode,"
    "Amount,Category,Sku,Quantity",
    "order-level": "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,CustomerId,CurrencyCode,"
    "Amount",
    "chained": "CampaignId,ActionTrackerId,CustomerId,OrderId,EventDate,Amount,CurrencyCode,"
    "ClickId",
    "modifications": "OrderId,ActionTrackerId,Amount,Reason",
    "item-modifications": "OrderId,ActionTrackerId,Sku,Quantity,Amount,Reason",
}
APP_COLUMN = "EventCode"  # required when the destination is a mobile app
# What `new` writes for a person to replace; `check` refuses it (manifest.placeholder).
PLACEHOLDER_DESCRIPTION = "TODO say what these rows are and why they are sent late"


def skeleton() -> Traversable:
    return resources.files("retrobatch") / "skeleton"


def pypi_requirement() -> str:
    """What a repository made by `init` installs: exactly the version that made it."""
    return f"retrobatch=={__version__}"


def workflow(name: str, requirement: str) -> str:
    """A workflow's text, installing retrobatch with `pip install <requirement>`."""
    return _rendered(f"workflows/{name}", requirement)


def project_files(requirement: str = CHECKOUT_REQUIREMENT) -> dict[str, str]:
    """The `.github/` files every submissions repository carries, by repository path."""
    files = {f".github/workflows/{name}": workflow(name, requirement) for name in WORKFLOWS}
    files[f".github/{SETUP_ACTION}"] = _rendered(SETUP_ACTION, requirement)
    files[".github/CODEOWNERS"] = _skeleton_text("CODEOWNERS")
    return files


def write_project_files(root: Path, requirement: str = CHECKOUT_REQUIREMENT) -> list[Path]:
    """(Re)write `.github/` from the skeleton: how this project refreshes its own workflows."""
    return [_write(root / rel, text) for rel, text in project_files(requirement).items()]


def csv_header(template: str, app: bool = False) -> str:
    if template not in MINIMAL_HEADERS:
        raise UsageError(f"--template {template}: expected one of {', '.join(TEMPLATES)}")
    header = MINIMAL_HEADERS[template]
    needs_event_code = app and is_conversion(template)
    return f"{header},{APP_COLUMN}" if needs_event_code else header


def check_id(sub_id: str) -> None:
    """The manifest schema's id rule, said before any file is written."""
    rule = load_schema("manifest")["properties"]["id"]
    problem = None
    if len(sub_id) > rule["maxLength"]:
        problem = f"longer than {rule['maxLength']} characters"
    elif not re.search(rule["pattern"], sub_id):
        problem = "expected YYYY-MM-DD-slug (lowercase letters, digits and -)"
    else:
        try:
            dt.date.fromisoformat(sub_id[:10])
        except ValueError:
            problem = f"{sub_id[:10]} is not a date"
    if problem:
        raise UsageError(f"{sub_id}: {problem}")


@dataclass(frozen=True)
class NewSubmission:
    folder: Path
    manifest: Path
    csv: Path


def new_submission(
    root: Path,
    sub_id: str,
    template: str,
    event_type: int,
    settings: Settings,
    *,
    requested_by: str | None = None,
) -> NewSubmission:
    """A folder with a manifest and a header-only CSV, ready to fill in. Nothing is overwritten."""
    check_id(sub_id)
    destination = settings.destination(event_type)
    if destination is None:
        known = ", ".join(f"{k} ({d.name})" for k, d in settings.destinations.items())
        raise UsageError(f"--event-type {event_type}: not in {SETTINGS_FILE} (known: {known})")
    header = csv_header(template, destination.app)
    folder = root / SUBMISSIONS_DIR / sub_id
    if folder.exists():
        raise UsageError(f"{folder.relative_to(root).as_posix()}: already exists")
    file = "conversions.csv" if is_conversion(template) else "modifications.csv"
    cc_domain = settings.cc_allowed_domains[0] if settings.cc_allowed_domains else "brand.example"
    manifest = (
        f"id: {sub_id}\n"
        f"template: {template}\n"
        f"event_type: {event_type}  # {_comment(destination.name)}\n"
        f"file: {file}\n"
        f"description: {PLACEHOLDER_DESCRIPTION}\n"
        f"requested_by: {requested_by or settings.sender}\n"
        "# ticket: OPS-1234\n"
        f"# cc: [someone@{cc_domain}]\n"
    )
    return NewSubmission(
        folder,
        _write(folder / MANIFEST_FILE, manifest),
        _write(folder / file, header + "\n"),
    )


@dataclass(frozen=True)
class Imported:
    made: NewSubmission
    source_rows: int | None  # data rows read from a spreadsheet; None for a CSV copied as is


def import_submission(
    root: Path,
    source: Path,
    sub_id: str,
    template: str,
    event_type: int,
    settings: Settings,
    *,
    description: str | None = None,
    sheet: str | None = None,
    requested_by: str | None = None,
) -> Imported:
    """A submission made as `new` makes it, holding the rows of a spreadsheet or CSV export
    (`fix` then repairs the CSV). The source is read whole before anything is written in the
    work tree, into a file beside the repository's cache (never into memory: an export may
    hold a million rows), which then becomes the submission's CSV."""
    from retrobatch.csvfile.spreadsheet import (
        SPREADSHEET_SUFFIXES,
        XLS_ADVICE,
        workbook_kind,
        xlsx_to_csv,
    )

    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    try:
        with source.open("rb") as fh:
            kind = workbook_kind(fh.read(8))
    except OSError as exc:
        raise UsageError(f"{source}: cannot read: {exc.strerror or exc}") from None
    if kind == "xls":
        raise UsageError(f"{source}: {XLS_ADVICE} (or as CSV UTF-8) and import that")
    suffix = source.suffix.lower()
    # A workbook saved under a .csv name is read as the workbook it is.
    workbook = suffix in SPREADSHEET_SUFFIXES or kind == "xlsx"
    if not workbook and suffix not in (".csv", ".txt", ".tsv"):
        raise UsageError(f"{source}: expected an .xlsx workbook or a .csv export")
    if sheet is not None and not workbook:
        raise UsageError(f"--sheet: {source.name} is a CSV file, which has no sheets")
    rows: int | None = None
    with _staging(root) as staged:
        with staged.open("wb") as out:
            if workbook:
                rows = xlsx_to_csv(source, out, sheet)
            else:
                try:
                    with source.open("rb") as src:
                        shutil.copyfileobj(src, out)
                except OSError as exc:
                    raise UsageError(f"{source}: cannot read: {exc.strerror or exc}") from None
        made = new_submission(
            root, sub_id, template, event_type, settings, requested_by=requested_by
        )
        if description:
            text = made.manifest.read_text(encoding="utf-8")
            made.manifest.write_text(
                text.replace(f"description: {PLACEHOLDER_DESCRIPTION}\n", _yaml_line(description)),
                encoding="utf-8",
            )
        shutil.copymode(made.csv, staged)  # the scratch file is private (0600)
        shutil.move(staged, made.csv)
    return Imported(made, rows)


@contextmanager
def _staging(root: Path) -> Iterator[Path]:
    """A scratch file outside the work tree (the repository's cache folder, else the system's
    temporary one), removed on the way out if still there."""
    handle, name = -1, ""
    for folder in (cache_dir(root), None):  # a read-only git folder: the system's
        try:
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix="import-", suffix=".csv", dir=folder)
            break
        except OSError as exc:
            if folder is None:
                raise UsageError(f"no room for the import's scratch file: {exc}") from None
    os.close(handle)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _yaml_line(description: str) -> str:
    import yaml

    one_line = " ".join(description.split())
    dumped: str = yaml.safe_dump({"description": one_line}, allow_unicode=True, width=10**6)
    return dumped


def init_repository(target: Path, today: dt.date | None = None) -> list[Path]:
    """A new submissions repository: settings with placeholders, workflows installing retrobatch
    from PyPI, CODEOWNERS, READMEs and an example outside `submissions/` (never sent)."""
    if target.exists() and (not target.is_dir() or any(p.name != ".git" for p in target.iterdir())):
        raise UsageError(f"{target}: exists and is not an empty folder (nor a fresh clone)")
    for parent in target.parents:
        if parent.exists() and not parent.is_dir():
            raise UsageError(f"{target}: {parent} is a file, not a folder")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{target}: cannot create the folder: {exc.strerror}") from None
    today = today or dt.datetime.now(dt.UTC).date()
    files = {
        SETTINGS_FILE: _skeleton_text(SETTINGS_FILE),
        "README.md": _skeleton_text("README.md"),
        f"{SUBMISSIONS_DIR}/README.md": _skeleton_text("submissions-README.md"),
        **project_files(pypi_requirement()),
        **_example(today),
    }
    written = [_write(target / rel, text) for rel, text in files.items()]
    git.Repo.init(target, initial_branch="main")
    return written


def _example(today: dt.date) -> dict[str, str]:
    """A valid item-level batch dated yesterday: inside impact.com's window for 88 days."""
    day = today - dt.timedelta(days=1)
    sub_id = f"{day.isoformat()}-example"
    folder = f"examples/{sub_id}"
    stamp = f"{day.isoformat()}T10:15:00Z"
    rows = [
        MINIMAL_HEADERS["item-level"],
        f"1000,12345,{stamp},EX-1001,click-abc123,cust-0001,USD,19.99,Shoes,SKU-1,1",
        f"1000,12345,{stamp},EX-1001,click-abc123,cust-0001,USD,5.00,Socks,SKU-2,2",
        f"1000,12345,{stamp},EX-1002,click-def456,cust-0002,USD,42.00,Shoes,SKU-3,1",
    ]
    manifest = (
        f"id: {sub_id}\n"
        "template: item-level\n"
        "event_type: 12345\n"
        "file: conversions.csv\n"
        "description: An example; copy it under submissions/ with a new id to send one\n"
        "requested_by: ana@brand.example\n"
    )
    return {
        f"{folder}/{MANIFEST_FILE}": manifest,
        f"{folder}/conversions.csv": "\n".join(rows) + "\n",
    }


def _skeleton_text(name: str) -> str:
    path = skeleton()
    for part in name.split("/"):
        path = path / part
    return path.read_text(encoding="utf-8")


def _rendered(name: str, requirement: str) -> str:
    return _skeleton_text(name).replace(REQUIREMENT_MARK, requirement)


def _comment(text: str) -> str:
    return " ".join(text.splitlines())


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
