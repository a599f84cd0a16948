"""Command line: parse arguments, call the core, render results. Nothing else lives here.

Each command has an `_add_<name>` that declares its arguments and a `_cmd_<name>` handler that
returns the exit status (0 fine, 1 a finding or a failed send/fetch, 2 could not run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__, checker, gitops
from .errors import RetrobatchError, UsageError
from .findings import Finding
from .report import json as json_report
from .report import text as text_report
from .settings import Settings, load_settings

if TYPE_CHECKING:  # each command imports what only it needs: `check` stays quick to start
    import git

Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Workspace:
    """The repository a command works on, and its settings (None when they failed to load)."""

    repo: git.Repo
    root: Path
    settings: Settings | None
    settings_findings: list[Finding]

    def require_settings(self) -> Settings:
        if self.settings is None:
            first = self.settings_findings[0]
            where = f"{first.path}:{first.line}" if first.line else first.path
            raise UsageError(f"{where}: {first.message} [{first.code}]")
        return self.settings


def open_workspace(args: argparse.Namespace) -> Workspace:
    repo = gitops.open_repo(Path(args.repo) if args.repo else Path.cwd())
    root = gitops.root_of(repo)
    settings, problems = load_settings(root)
    return Workspace(repo, root, settings, problems)


def _repo_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repo",
        metavar="DIR",
        help="the submissions repository (default: around the current folder)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="retrobatch", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"retrobatch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_check, _add_status, _add_demo):
        add(sub)
    return parser


def _add_check(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="validate submissions")
    p.add_argument("paths", nargs="*", metavar="PATH", help="submission folders or files in them")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--base", metavar="REF", help="check what changed since the merge base")
    p.add_argument("--as-of", metavar="DATE", help="validate as of the end of this UTC day")
    _repo_option(p)
    p.set_defaults(handler=_cmd_check)


def _as_of(args: argparse.Namespace) -> dt.datetime | None:
    text = getattr(args, "as_of", None) or os.environ.get("RETROBATCH_AS_OF")
    return checker.parse_as_of(text) if text else None


def _cmd_check(args: argparse.Namespace) -> int:
    ws = open_workspace(args)
    as_of = _as_of(args)
    paths = [Path(p) for p in args.paths]
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    if ws.settings is None:
        if args.format == "json":
            sys.stdout.write(json_report.render(checker.CheckReport(), ws.settings_findings))
        else:
            for f in ws.settings_findings:
                print(text_report.finding_line(f), file=sys.stderr)
        return 2
    report = checker.check(ws.root, ws.settings, paths=paths or None, base=args.base, as_of=as_of)
    if args.format == "json":
        sys.stdout.write(json_report.render(report))
    else:
        sys.stdout.write(text_report.render(report, colour=sys.stdout.isatty()))
    return 1 if report.errors else 0


def _add_status(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("status", help="where each submission stands")
    p.add_argument("id", nargs="?", metavar="ID", help="one submission, in detail")
    p.add_argument("--format", choices=("text", "json"), default="text")
    _repo_option(p)
    p.set_defaults(handler=_cmd_status)


def _cmd_status(args: argparse.Namespace) -> int:
    from . import status
    from .report import status as status_report

    ws = open_workspace(args)
    settings = ws.require_settings()
    lines = status.collect(ws.root, settings, args.id)
    if args.id and not lines:
        raise UsageError(f"no submission {args.id!r} under submissions/")
    if args.format == "json":
        doc = [s.to_dict() for s in lines]
        print(json.dumps(doc[0] if args.id else doc, indent=2, ensure_ascii=False))
    elif args.id:
        print(status_report.details(lines[0]))
    else:
        print(status_report.table(lines))
    return 0


def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo", help="the whole flow in a temporary repository, on embedded defaults"
    )
    p.set_defaults(handler=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from . import demo

    return demo.run_demo(sys.stdout, main)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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


if __name__ == "__main__":
    sys.exit(main())
