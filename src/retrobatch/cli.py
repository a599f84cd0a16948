"""retrobatch: submit conversion data to impact.com retroactively, reviewed in git.

The command line parses arguments, calls the core and renders results.

Each command has an `_add_<name>` that declares its arguments and a `_cmd_<name>` handler that
returns the exit status (0 fine, 1 a finding or a failed send/fetch, 2 could not run).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from retrobatch import __version__
from retrobatch.check import submissions as check_core
from retrobatch.check.result import CheckReport
from retrobatch.errors import OperationFailed, RetrobatchError, UsageError
from retrobatch.findings import Finding, plural
from retrobatch.report import json as json_report
from retrobatch.report import text as text_report
from retrobatch.repository import schemas
from retrobatch.repository.settings import Settings, load_settings
from retrobatch.repository.workspace import Workspace

# Each handler imports the modules only its command needs: `check` starts without GitPython,
# jsonschema, aiosmtpd, httpx or yagmail.
if TYPE_CHECKING:
    import git

    from retrobatch.send.runner import Outcome

Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Project:
    """The repository a command works on, and its settings (None when they failed to load)."""

    workspace: Workspace
    settings: Settings | None
    settings_findings: list[Finding]

    @property
    def root(self) -> Path:
        return self.workspace.root

    @property
    def repo(self) -> git.Repo:
        return self.workspace.repo

    def require_settings(self) -> Settings:
        if self.settings is None:
            first = self.settings_findings[0]
            where = f"{first.path}:{first.line}" if first.line else first.path
            raise UsageError(f"{where}: {first.message} [{first.code}]")
        return self.settings


def in_project(command: Callable[[argparse.Namespace, Project], int]) -> Handler:
    """The handler for a command that works on a repository: found before the command starts
    (`--repo`, else around the current folder), its GitPython repository closed after."""

    @functools.wraps(command)
    def handler(args: argparse.Namespace) -> int:
        start = Path(args.repo) if args.repo else Path.cwd()
        with Workspace.around(start) as workspace:
            settings, problems = load_settings(workspace.root)
            return command(args, Project(workspace, settings, problems))

    return handler


def _repo_option(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """`--repo DIR`, before or after the command (after wins)."""
    parser.add_argument(
        "--repo",
        metavar="DIR",
        default=None if top else argparse.SUPPRESS,
        help="the submissions repository (default: around the current folder)",
    )


def colour_for(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with `command` (a command's name) only that command's: declaring
    every command costs each start a few milliseconds."""
    parser = argparse.ArgumentParser(prog="retrobatch", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"retrobatch {__version__}")
    _repo_option(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, add in COMMANDS.items():
        if command is None or name == command:
            add(sub)
    return parser


def _add_check(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="validate submissions")
    p.add_argument("paths", nargs="*", metavar="PATH", help="submission folders or files in them")
    p.add_argument(
        "--format",
        choices=("text", "json", "github", "csv"),
        default="text",
        help="csv: one finding per row, for a spreadsheet",
    )
    p.add_argument(
        "--base",
        metavar="REF",
        help="check what changed since the merge base (with --format github, default: the "
        "pull request's base from $GITHUB_EVENT_PATH)",
    )
    p.add_argument("--as-of", metavar="DATE", help="validate as of the end of this UTC day")
    _repo_option(p)
    p.set_defaults(handler=_cmd_check)


def _as_of(args: argparse.Namespace) -> dt.datetime | None:
    """`--as-of`, else `RETROBATCH_AS_OF`; an error names the one that was given."""
    text = getattr(args, "as_of", None)
    if text:
        return check_core.parse_as_of(text)
    env = os.environ.get("RETROBATCH_AS_OF")
    return check_core.parse_as_of(env, source="RETROBATCH_AS_OF=") if env else None


def _add_fix(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "fix",
        help="rewrite a submission's CSV into the form impact.com takes (lossless changes only)",
        description="Repair what a spreadsheet export gets wrong, where no guess is needed: byte "
        "order mark, UTF-16, CRLF/CR, ';' or tab delimiters, header spellings, spreadsheet dates "
        "(with --timezone), currency symbols and thousands separators, scattered order lines, "
        "blank rows, and an encoding you state (--encoding). What cannot be repaired is listed "
        "with its fix.",
    )
    p.add_argument("path", metavar="PATH", help="a submission folder or a file in it")
    p.add_argument(
        "--timezone",
        metavar="TZ",
        help="the IANA zone the sheet's dates without offset were recorded in "
        "(e.g. America/New_York); never guessed",
    )
    _encoding_option(p)
    p.add_argument("--dry-run", action="store_true", help="say what would change; write nothing")
    _repo_option(p)
    p.set_defaults(handler=_cmd_fix)


def _encoding_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--encoding",
        metavar="NAME",
        help="the encoding the CSV was saved in, re-encoded as UTF-8 (e.g. cp1252: Excel's "
        "'CSV (Comma delimited)' on Windows); never guessed",
    )


@in_project
def _cmd_fix(args: argparse.Namespace, ws: Project) -> int:
    from retrobatch.csvfile import fix as csvfix
    from retrobatch.report import fix as fix_report
    from retrobatch.repository.manifest import load_manifest
    from retrobatch.repository.submissions import containing

    timezone = csvfix.zone(args.timezone) if args.timezone else None
    encoding = csvfix.encoding_named(args.encoding) if args.encoding else None
    path = Path(args.path)
    if not path.exists() and (ws.root / path).exists():
        path = ws.root / path  # relative to the repository given by --repo
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder")
    folder = containing(ws.root, path if path.is_absolute() else Path.cwd() / path)
    if folder is None:
        raise UsageError(f"{path}: not in a submission folder (one with a manifest.yaml)")
    loaded = load_manifest(folder.folder, ws.root, ws.settings)
    if loaded.manifest is None or loaded.csv_path is None:
        first = next((f for f in loaded.findings if f.severity == "error"), None)
        why = f"{first.path}:{first.line or 1}: {first.message}" if first else "no CSV"
        raise UsageError(f"{folder.rel}: cannot tell which CSV to fix: {why}")
    rel = loaded.csv_path.relative_to(ws.root).as_posix()
    result = csvfix.fix_file(
        loaded.csv_path,
        rel,
        loaded.manifest.template,
        timezone,
        dry_run=args.dry_run,
        encoding=encoding,
    )
    print("\n".join(fix_report.lines(result, dry_run=args.dry_run)))
    if result.changed and not args.dry_run:
        print(f"next: review the change (git diff), then: retrobatch check {folder.rel}")
    return 1 if result.unfixed else 0


def _add_import(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import",
        help="a new submission from an .xlsx workbook or a CSV export, then fix",
    )
    p.add_argument("file", metavar="FILE", help="an .xlsx workbook or a .csv export")
    p.add_argument("--id", required=True, metavar="ID", help="YYYY-MM-DD-slug")
    p.add_argument("--template", required=True, choices=schemas.TEMPLATES)
    p.add_argument("--event-type", required=True, type=int, metavar="N")
    p.add_argument("--timezone", metavar="TZ", help="the IANA zone of dates without offset")
    p.add_argument("--description", metavar="TEXT", help="what these rows are, for the manifest")
    p.add_argument("--sheet", metavar="NAME", help="the workbook's sheet (default: the first)")
    _encoding_option(p)
    _repo_option(p)
    p.set_defaults(handler=_cmd_import)


@in_project
def _cmd_import(args: argparse.Namespace, ws: Project) -> int:
    from retrobatch import scaffold
    from retrobatch.csvfile import fix as csvfix
    from retrobatch.report import fix as fix_report

    settings = ws.require_settings()
    timezone = csvfix.zone(args.timezone) if args.timezone else None
    encoding = csvfix.encoding_named(args.encoding) if args.encoding else None
    if encoding is not None and Path(args.file).suffix.lower() not in (".csv", ".txt", ".tsv"):
        raise UsageError(f"--encoding: {Path(args.file).name} is not a CSV file")
    imported = scaffold.import_submission(
        ws.root,
        Path(args.file),
        args.id,
        args.template,
        args.event_type,
        settings,
        description=args.description,
        sheet=args.sheet,
        requested_by=_user_email(ws),
    )
    made = imported.made
    folder = made.folder.relative_to(ws.root).as_posix()
    read = f" ({imported.source_rows:,} rows)" if imported.source_rows is not None else ""
    print(f"created {folder}/ from {Path(args.file).name}{read}")
    rel = made.csv.relative_to(ws.root).as_posix()
    result = csvfix.fix_file(made.csv, rel, args.template, timezone, encoding=encoding)
    print("\n".join(fix_report.lines(result, dry_run=False)))
    if not args.description:
        print(f"fill in the description in {folder}/manifest.yaml, then: retrobatch check {folder}")
    else:
        print(f"next: retrobatch check {folder}")
    return 1 if result.unfixed else 0


def _user_email(ws: Project) -> str | None:
    email = str(ws.repo.config_reader().get_value("user", "email", "")).strip()
    return email if "@" in email else None


def _notice(message: str) -> None:
    print(message, file=sys.stderr)


@in_project
def _cmd_check(args: argparse.Namespace, ws: Project) -> int:
    as_of = _as_of(args)
    paths = [Path(p) for p in args.paths]
    for path in paths:
        if not os.path.lexists(path):  # a link is reported as a finding, not followed
            raise UsageError(f"{path}: no such file or folder")
    base = args.base
    if args.format == "github" and base is None:
        base = _event_base(os.environ)
    if ws.settings is None:
        if args.format == "json":
            sys.stdout.write(json_report.render(CheckReport(), ws.settings_findings))
        elif args.format == "csv":
            _write_table(CheckReport(), ws.settings_findings)
        elif args.format == "github":
            _to_github(CheckReport(), ws, base, ws.settings_findings, os.environ)
        else:
            for f in ws.settings_findings:
                print(text_report.finding_line(f), file=sys.stderr)
        return 2
    progress = None
    if args.format == "text" and sys.stderr.isatty():
        from retrobatch.report.progress import bars

        progress = bars(sys.stderr)
    report = check_core.check(
        ws.root,
        ws.settings,
        paths=paths or None,
        base=base,
        as_of=as_of,
        progress=progress,
        notice=_notice,
    )
    if args.format == "json":
        sys.stdout.write(json_report.render(report))
    elif args.format == "csv":
        _write_table(report, [])
    elif args.format == "github":
        from retrobatch.check.owners import unowned

        _to_github(report, ws, base, unowned(ws.root), os.environ)
    else:
        sys.stdout.write(text_report.render(report, colour=colour_for(sys.stdout)))
    return 1 if report.errors else 0


def _write_table(report: CheckReport, extra: list[Finding]) -> None:
    """The CSV table as bytes: its own line ends, whatever the platform's text mode does."""
    from retrobatch.report import table

    sys.stdout.flush()
    sys.stdout.buffer.write(table.render(report, extra).encode("utf-8"))
    sys.stdout.buffer.flush()


def _to_github(
    report: CheckReport,
    ws: Project,
    base: str | None,
    extra: list[Finding],
    env: Mapping[str, str],
) -> None:
    """Annotations on stdout; in a workflow step, the summary appended to $GITHUB_STEP_SUMMARY,
    with the orders changed since `base`. `extra`: findings outside the report."""
    from retrobatch import diffs  # and so GitPython
    from retrobatch.report import github as github_report

    target = env.get("GITHUB_STEP_SUMMARY")
    if target:
        changes = diffs.diff(ws.root, base) if base is not None else None
        markdown = github_report.summary_markdown(report, ws.settings, changes, extra=extra)
        try:
            with Path(target).open("a", encoding="utf-8") as fh:
                fh.write(markdown)
        except OSError as exc:
            raise OperationFailed(
                f"GITHUB_STEP_SUMMARY {target}: cannot write: {exc.strerror or exc}"
            ) from None
    sys.stdout.write(github_report.render(report, extra=extra))


def _event_base(env: Mapping[str, str]) -> str | None:
    """The base commit of the pull request that started this workflow run, from its event file."""
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    pull = event.get("pull_request") if isinstance(event, dict) else None
    base = pull.get("base") if isinstance(pull, dict) else None
    sha = base.get("sha") if isinstance(base, dict) else None
    return sha if isinstance(sha, str) and sha else None


def _add_status(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("status", help="where each submission stands")
    p.add_argument("id", nargs="?", metavar="ID", help="one submission, in detail")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--wide", action="store_true", help="every column (wider than 100)")
    _repo_option(p)
    p.set_defaults(handler=_cmd_status)


@in_project
def _cmd_status(args: argparse.Namespace, ws: Project) -> int:
    from retrobatch import status
    from retrobatch.reconcile import rows
    from retrobatch.report import reconcile as reconcile_report
    from retrobatch.report import status as status_report

    settings = ws.require_settings()
    lines = status.collect(ws.root, settings, args.id, notice=_notice)
    if args.id and not lines:
        raise UsageError(f"no submission {args.id!r} under submissions/")
    if args.id:
        one = lines[0]
        mapped = rows.explain_errors(ws.root, one.receipt, one.folder.folder) if one.receipt else []
        if args.format == "json":
            doc = {**one.to_dict(), "impact_errors": [dataclasses.asdict(m) for m in mapped]}
            print(json.dumps(doc, indent=2, ensure_ascii=False, default=str))
        else:
            print(status_report.details(one))
            if mapped:
                print(f"\nimpact.com reported {plural(len(mapped), 'error')}:")
                print("\n".join(reconcile_report.error_lines(mapped)))
                print("\nwhat to do:")
                print("\n".join(reconcile_report.error_guide(mapped)))
    elif args.format == "json":
        print(json.dumps([s.to_dict() for s in lines], indent=2, ensure_ascii=False))
    else:
        print(status_report.table(lines, wide=args.wide))
    return 0


def _add_reconcile(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("reconcile", help="record impact.com's processing of sent files")
    p.add_argument("--no-push", action="store_true", help="commit receipts but do not push them")
    _repo_option(p)
    p.set_defaults(handler=_cmd_reconcile)


@in_project
def _cmd_reconcile(args: argparse.Namespace, ws: Project) -> int:
    from retrobatch.reconcile import api as impact_api
    from retrobatch.reconcile import matching as reconcile
    from retrobatch.report import reconcile as reconcile_report
    from retrobatch.repository import snapshot

    settings = ws.require_settings()
    snap = snapshot.take(ws.root, None)
    if not reconcile.outstanding(ws.root, snap):
        for why in reconcile.refused(snap):
            print(f"warning: {why}")
        print("nothing to reconcile: no sent part awaits impact.com's report")
        return 0
    from retrobatch.repository.ledger import Ledger

    ledger = Ledger(ws.repo, settings.committer, push=not args.no_push)
    if not args.no_push:
        ledger.push_target()  # nowhere to push is a setup problem: before asking
    credentials = impact_api.credentials_from_env(os.environ)
    base = impact_api.api_base_from_env(os.environ)
    with impact_api.ImpactClient(credentials, base) as client:
        result = reconcile.reconcile_repository(ws.root, settings, client, snap=snap)
    for line in reconcile_report.lines(result):
        print(line)
    if result.changed:
        message = reconcile_report.commit_message(result)
        ledger.record(message, lambda: reconcile.reapply(ledger.read, result))
    if result.failure:
        print(f"retrobatch reconcile: {result.failure}", file=sys.stderr)
        return 1
    return 0


def _add_new(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("new", help="a submission folder with manifest and header-only CSV")
    p.add_argument("id", metavar="ID", help="YYYY-MM-DD-slug")
    p.add_argument("--template", required=True, choices=schemas.TEMPLATES)
    p.add_argument("--event-type", required=True, type=int, metavar="N")
    _repo_option(p)
    p.set_defaults(handler=_cmd_new)


@in_project
def _cmd_new(args: argparse.Namespace, ws: Project) -> int:
    from retrobatch import scaffold

    settings = ws.require_settings()
    made = scaffold.new_submission(
        ws.root, args.id, args.template, args.event_type, settings, requested_by=_user_email(ws)
    )
    print(f"created {made.folder.relative_to(ws.root).as_posix()}/:")
    for path in (made.manifest, made.csv):
        print(f"  {path.name}")
    print(f"fill in {made.csv.name} and the manifest's description, then: retrobatch check")
    return 0


def _add_diff(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "diff",
        help="what changed in submissions, by order",
        description="Compare from the merge base of BASE and HEAD to HEAD. BASE defaults to the "
        "branch's upstream, else origin/main, else main; HEAD defaults to the working tree.",
    )
    p.add_argument("base", nargs="?", metavar="BASE", help="a commit, branch or tag")
    p.add_argument("head", nargs="?", metavar="HEAD", help="a commit (default: the working tree)")
    _repo_option(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=_cmd_diff)


@in_project
def _cmd_diff(args: argparse.Namespace, ws: Project) -> int:
    from retrobatch import diffs
    from retrobatch.report import diff as diff_report

    ws.require_settings()  # not read, but the contract keeps every command to one rule
    result = diffs.diff(ws.root, args.base, args.head)
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(diff_report.text(result))
    return 0


def _add_init(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", help="create a new submissions repository")
    p.add_argument("dir", metavar="DIR", help="a new or empty folder")
    p.set_defaults(handler=_cmd_init)


def _cmd_init(args: argparse.Namespace) -> int:
    from retrobatch import scaffold

    target = Path(args.dir)
    written = scaffold.init_repository(target)
    print(f"created a submissions repository in {target}:")
    for path in written:
        print(f"  {path.relative_to(target).as_posix()}")
    print(
        "next: replace the placeholders in retrobatch.yaml and .github/CODEOWNERS, commit, push, "
        "and create the 'retrobatch' Environment with its secrets"
    )
    return 0


def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo", help="the whole flow in a temporary repository, on embedded defaults"
    )
    p.set_defaults(handler=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from retrobatch import demo

    return demo.run_demo(sys.stdout, main)


def _add_explain(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "explain", help="what a finding code or an impact.com error means, and what to do"
    )
    p.add_argument("code", nargs="?", metavar="CODE", help="e.g. csv.bad-date or CONV_DUPLICATE")
    p.set_defaults(handler=_cmd_explain)


def _cmd_explain(args: argparse.Namespace) -> int:
    from retrobatch.report import reference

    if args.code is None:
        print("\n".join(reference.known_codes()))
        return 0
    text = reference.explain(args.code)
    if text is None:
        import difflib

        close = difflib.get_close_matches(args.code, reference.known_codes(), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UsageError(
            f"{args.code!r} is neither a finding code nor a known impact.com error{hint}"
        )
    print(text)
    return 0


def _add_columns(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("columns", help="a template's columns, formats, aliases and requirements")
    p.add_argument(
        "template", choices=schemas.TEMPLATES, metavar="TEMPLATE", help=", ".join(schemas.TEMPLATES)
    )
    p.set_defaults(handler=_cmd_columns)


def _cmd_columns(args: argparse.Namespace) -> int:
    from retrobatch.csvfile.templates import load_template
    from retrobatch.report import reference

    print(reference.columns_text(load_template(args.template)))
    return 0


def _add_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="send merged submissions; commit and push receipts")
    _repo_option(p)
    p.add_argument("--dry-run", action="store_true", help="validate and list what would be sent")
    p.add_argument("--no-push", action="store_true", help="commit receipts but do not push them")
    p.add_argument("--outbox", metavar="DIR", help="write the messages to DIR as .eml; send none")
    p.add_argument("--save-copies", metavar="DIR", help="also keep each sent message in DIR")
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="send failed submissions again as they are, and parts resolved as not sent",
    )
    p.set_defaults(handler=_cmd_run)


@in_project
def _cmd_run(args: argparse.Namespace, ws: Project) -> int:
    from retrobatch.send.lease import minutes_from_env
    from retrobatch.send.runner import RunOptions, run

    settings = ws.require_settings()
    options = RunOptions(
        lease_minutes=minutes_from_env(os.environ),
        notify=lambda line: print(line, file=sys.stderr, flush=True),
        dry_run=args.dry_run,
        push=not args.no_push,
        outbox=Path(args.outbox) if args.outbox else None,
        save_copies=Path(args.save_copies) if args.save_copies else None,
        retry_failed=args.retry_failed,
        as_of=_as_of(args),
    )
    report = run(ws.repo, settings, options, os.environ)
    for outcome in report.outcomes:
        print(_render_outcome(outcome))
    if not report.outcomes:
        print("nothing to send")
    if report.push_failure:
        print(f"retrobatch run: {report.push_failure}", file=sys.stderr)
    return report.exit_code


def _render_outcome(o: Outcome) -> str:
    rows = sum(p.rows for p in o.parts)
    count = f"{plural(len(o.parts), 'part')} ({plural(rows, 'row')})"
    to = f" to {o.to}" + (f" cc {', '.join(o.cc)}" if o.cc else "") if o.to else ""
    refused = "; ".join(f"{p.attachment}: {p.reply}" for p in o.parts if p.state != "sent")
    match o.status:
        case "sent":
            return f"{o.id}: sent {count}{to}" + (f" ({o.detail})" if o.detail else "")
        case "partial" | "failed" if o.detail:
            return f"{o.id}: {o.status}: {refused or 'nothing sent'} ({o.detail})"
        case "would-send":
            names = ", ".join(p.attachment for p in o.parts)
            return f"{o.id}: would send {count}{to}: {names}"
        case "written":
            return f"{o.id}: wrote {count}{to}: {', '.join(str(p.file) for p in o.parts)}"
        case "partial" | "failed":
            return f"{o.id}: {o.status}: {refused}"
        case "sending":
            return f"{o.id}: in doubt (receipt stays sending): {refused}: {o.detail}"
        case "held":
            return f"{o.id}: sending from an earlier run, not sent again: {o.detail}"
        case "invalid":
            errors = [f for f in o.findings if f.severity == "error"]
            if not errors:
                return f"{o.id}: not sent: {o.detail}"
            first = errors[0]
            where = f"{first.path}:{first.line}" if first.line else first.path
            return (
                f"{o.id}: invalid, not sent: {plural(len(errors), 'error')}, first {where}: "
                f"{first.message} [{first.code}] (retrobatch check submissions/{o.id} lists all)"
            )
        case _:
            return f"{o.id}: {o.status}: {o.detail}" if o.detail else f"{o.id}: {o.status}"


def _add_resolve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "resolve",
        help="record whether a part in doubt was sent",
        description="Decide the part of a submission left `sending` (look for its attachment "
        "in impact.com's File Submissions first). Refused while the run holding it may still "
        "be sending, unless --force.",
    )
    _repo_option(p)
    p.add_argument("id", metavar="ID", help="the submission whose receipt is sending")
    decision = p.add_mutually_exclusive_group(required=True)
    decision.add_argument(
        "--sent", dest="decision", action="store_const", const="sent", help="it arrived"
    )
    decision.add_argument(
        "--not-sent",
        dest="decision",
        action="store_const",
        const="not-sent",
        help="it did not arrive: the part becomes failed, and `retrobatch run --retry-failed` "
        "sends it again (a new Message-ID)",
    )
    p.add_argument("--part", type=int, metavar="N", help="which part, when several are in doubt")
    p.add_argument(
        "--force",
        action="store_true",
        help="decide even though the run holding the receipt may still be sending",
    )
    p.add_argument("--note", metavar="TEXT", help="why, for the receipt")
    p.set_defaults(handler=_cmd_resolve)


@in_project
def _cmd_resolve(args: argparse.Namespace, ws: Project) -> int:
    from retrobatch.send.resolution import resolve

    settings = ws.require_settings()
    result = resolve(
        ws.repo,
        settings,
        args.id,
        args.decision,
        env=os.environ,
        note=args.note,
        part=args.part,
        force=args.force,
    )
    receipt = result.receipt
    which = f" part {result.part}" if len(receipt.emails) > 1 else ""
    line = f"{args.id}:{which} resolved as {args.decision}, now {receipt.state}"
    if receipt.state == "sending":
        line += f"; still in doubt: part(s) {', '.join(map(str, receipt.in_doubt()))}"
    elif any(p.state in ("failed", "pending") for p in receipt.emails):
        line += "; send what was not sent with: retrobatch run --retry-failed"
    print(line)
    return 0


COMMANDS = {
    "check": _add_check,
    "fix": _add_fix,
    "import": _add_import,
    "run": _add_run,
    "resolve": _add_resolve,
    "reconcile": _add_reconcile,
    "status": _add_status,
    "new": _add_new,
    "diff": _add_diff,
    "init": _add_init,
    "demo": _add_demo,
    "explain": _add_explain,
    "columns": _add_columns,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    first = argv[0] if argv else None
    parser = build_parser(first if first in COMMANDS else None)
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except RetrobatchError as exc:
        print(f"retrobatch {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"retrobatch {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `retrobatch columns item-level | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
