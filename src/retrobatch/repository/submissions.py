"""Finding submission folders in a repository: any folder holding a `manifest.yaml`.

A pull request decides what lies under `submissions/`, and `run` later writes receipts there
with the push secrets loaded. So nothing is followed: every entry is looked at with `lstat`
(never opened: a FIFO would block a reader), and a folder holding a link, a FIFO, a device or
a socket anywhere below it is refused as a whole. Only what `scan` calls safe is ever read.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from retrobatch.findings import Finding, finding
from retrobatch.repository.manifest import MANIFEST_FILE, inside_folder
from retrobatch.repository.receipts import RECEIPT_FILE

SUBMISSIONS_DIR = "submissions"
SPECIAL_CODE = "repo.special-file"
UNEXPECTED_CODE = "repo.unexpected-file"


@dataclass(frozen=True)
class SubmissionFolder:
    id: str
    folder: Path
    rel: str  # posix path relative to the repository root

    @property
    def receipt_path(self) -> Path:
        return self.folder / RECEIPT_FILE


@dataclass
class Scan:
    """The submission folders safe to read, and the entries under `submissions/` refused, by
    the name of the folder (or loose entry) directly under `submissions/`."""

    folders: list[SubmissionFolder] = field(default_factory=list)
    refused: dict[str, list[Finding]] = field(default_factory=dict)
    strays: list[Path] = field(default_factory=list)  # folders without a manifest.yaml

    def refuse(self, rel: str, kind: str) -> None:
        """Refuse the folder holding `rel` (a path under `submissions/`) as `kind`."""
        parts = rel.split("/")
        name = parts[1] if len(parts) > 1 else parts[0]
        self.folders = [f for f in self.folders if f.id != name]
        problem = special_finding(rel, kind)
        if problem not in self.refused.get(name, []):
            self.refused.setdefault(name, []).append(problem)

    def refused_for(self, names: set[str] | None) -> list[Finding]:
        """The findings of the refused entries named (all when `names` is None)."""
        return [
            f
            for name, found in sorted(self.refused.items())
            if names is None or name in names
            for f in found
        ]


def folder_at(root: Path, folder: Path) -> SubmissionFolder:
    return SubmissionFolder(folder.name, folder, folder.relative_to(root).as_posix())


def kind_of(mode: int) -> str | None:
    """What a non-regular, non-folder entry is, or None for a regular file or a folder."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def special_finding(rel: str, kind: str) -> Finding:
    return finding(
        SPECIAL_CODE,
        rel,
        f"{kind}: a submission holds regular files only (the manifest, its CSV, the receipt, "
        "a README); nothing in this folder is read or sent until it is removed",
    )


def scan(root: Path) -> Scan:
    """Every entry under `submissions/` looked at without following anything."""
    found = Scan()
    base = root / SUBMISSIONS_DIR
    try:
        mode = os.lstat(base).st_mode
    except OSError:
        return found
    if not stat.S_ISDIR(mode):
        kind = kind_of(mode)
        if kind is not None:
            found.refused[SUBMISSIONS_DIR] = [special_finding(SUBMISSIONS_DIR, kind)]
        return found
    for entry in sorted(os.scandir(base), key=lambda e: e.name):
        rel = f"{SUBMISSIONS_DIR}/{entry.name}"
        mode = entry.stat(follow_symlinks=False).st_mode
        kind = kind_of(mode)
        if kind is not None:
            found.refused[entry.name] = [special_finding(rel, kind)]
            continue
        if not stat.S_ISDIR(mode):
            continue  # a README next to the submissions
        problems = list(_special_below(Path(entry.path), rel))
        if problems:
            found.refused[entry.name] = problems
            continue
        manifest = Path(entry.path) / MANIFEST_FILE
        if manifest.is_file():  # no link anywhere below: is_file follows nothing here
            found.folders.append(folder_at(root, Path(entry.path)))
        elif not entry.name.startswith("."):
            found.strays.append(Path(entry.path))  # never sent: `check` says so
    return found


def _special_below(folder: Path, rel: str) -> list[Finding]:
    """Links and special files at any depth, walked without recursion (a deep tree is cheap)."""
    problems = []
    stack = [(folder, rel)]
    while stack:
        current, current_rel = stack.pop()
        for entry in sorted(os.scandir(current), key=lambda e: e.name):
            entry_rel = f"{current_rel}/{entry.name}"
            mode = entry.stat(follow_symlinks=False).st_mode
            kind = kind_of(mode)
            if kind is not None:
                problems.append(special_finding(entry_rel, kind))
            elif stat.S_ISDIR(mode):
                stack.append((Path(entry.path), entry_rel))
    return sorted(problems, key=lambda f: f.path)


README_NAMES = frozenset({"README.md", "README.txt", "README"})


def unexpected(folder: SubmissionFolder, csv_name: str) -> list[Finding]:
    """Entries other than the manifest, the CSV it names (and the folders on its way), the
    receipt and a README: a stray `receipt.yaml.tmp` or folder would stand where `run` writes.
    A name that leaves the folder is the manifest's error alone (manifest.file-outside):
    nothing outside the folder is listed."""
    wanted = {MANIFEST_FILE, RECEIPT_FILE, *README_NAMES}
    problems = []
    current, rel = folder.folder, folder.rel
    pure = inside_folder(csv_name)
    if pure is None:
        return []
    parts = pure.parts
    for depth, part in enumerate(parts):
        allowed = {*wanted, part} if depth == 0 else {part}
        for entry in sorted(os.scandir(current), key=lambda e: e.name):
            if entry.name not in allowed and not is_leftover(entry.name):
                problems.append(
                    finding(
                        UNEXPECTED_CODE,
                        f"{rel}/{entry.name}",
                        "a submission folder holds only its manifest, the CSV it names, its "
                        "receipt and a README: remove this",
                    )
                )
        current, rel = current / part, f"{rel}/{part}"
        if depth < len(parts) - 1 and not current.is_dir():
            break
    return problems


LEFTOVER = re.compile(rf"\.{re.escape(RECEIPT_FILE)}\.[0-9]+\.[0-9a-f]{{8}}\.tmp")


def is_leftover(name: str) -> bool:
    """A temporary receipt of the ledger's (a run killed while writing leaves one): the next
    write removes it, so it is no stranger in the folder (links are refused before this)."""
    return LEFTOVER.fullmatch(name) is not None


def discover(root: Path) -> list[SubmissionFolder]:
    """Every safe submission under `submissions/`, sorted by id (which sorts by date)."""
    return scan(root).folders


def containing(root: Path, path: Path) -> SubmissionFolder | None:
    """The submission a path belongs to (the nearest folder at or above it with a manifest),
    found without following anything: a linked folder or manifest belongs to no submission."""
    top = Path(os.path.abspath(root))
    current = Path(os.path.abspath(path))
    if current != top and top not in current.parents:
        return None
    if not current.is_dir() or current.is_symlink():
        current = current.parent
    while True:
        if current.is_symlink():
            return None
        manifest = current / MANIFEST_FILE
        if not manifest.is_symlink() and manifest.is_file():
            return folder_at(top, current)
        if current == top:
            return None
        current = current.parent


def named_folder(root: Path, path: Path) -> str | None:
    """The name of the folder directly under `submissions/` that `path` lies in, found from the
    path's text alone (nothing is followed), or None."""
    absolute = Path(os.path.abspath(path))
    try:
        parts = absolute.relative_to(Path(os.path.abspath(root))).parts
    except ValueError:
        return None
    return parts[1] if len(parts) >= 2 and parts[0] == SUBMISSIONS_DIR else None
