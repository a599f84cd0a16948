"""Command line: parse arguments, call the core, render results. Nothing else lives here.

Each command has an `_add_<name>` that declares its arguments and a `_cmd_<name>` handler that
returns the exit status (0 fine, 1 a finding or a failed send/fetch, 2 could not run).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import git

from . import __version__, gitops
from .errors import RetrobatchError, UsageError
from .findings import Finding
from .settings import Settings, load_settings

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
    for add in (_add_check,):
        add(sub)
    return parser


def _add_check(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="validate submissions")
    _repo_option(p)
    p.set_defaults(handler=_cmd_check)


def _cmd_check(args: argparse.Namespace) -> int:
    raise UsageError("check: not yet wired")


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
