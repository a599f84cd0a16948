"""Derived data kept in the repository's git folder (`.git/retrobatch/`), never in the work tree.

Everything stored here is keyed by content (a git blob id, or a hash of a file's bytes), so an
entry is either right or absent, never stale: deleting the folder costs one rebuild and nothing
else. Being under `.git/` it is never committed; the workflows keep it between runs with
`actions/cache`. Without git (or a writable git folder) retrobatch works the same, only slower.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from retrobatch.repository.workspace import without_git_variables

CACHE_NAME = "retrobatch"


def _git(root: Path, *args: str) -> bytes | None:
    import subprocess  # on first use: a clone's `check` finds everything without git

    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            env=without_git_variables(),  # the repository at `root`, not a hook's
            capture_output=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def cache_dir(root: Path) -> Path | None:
    """`<git common dir>/retrobatch`, shared by every worktree of the clone (None without git).
    An ordinary clone's is its `.git` folder, seen without starting git; a worktree's is asked
    of git."""
    dotgit = root / ".git"
    if dotgit.is_dir() and not dotgit.is_symlink() and not (dotgit / "commondir").exists():
        return dotgit / CACHE_NAME
    out = _git(root, "rev-parse", "--path-format=absolute", "--git-common-dir")
    if not out:
        return None
    return Path(out.decode("utf-8", "replace").strip()) / CACHE_NAME


def blob_id(data: bytes) -> str:
    """The git blob id of these bytes, as `git hash-object` says it."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def tracked_blobs(root: Path, under: str) -> dict[str, str]:
    """Blob ids of the files under `under` whose working copy equals the index (git's stat
    check); files changed or untracked are left out, for the caller to hash."""
    listed = _git(root, "ls-files", "-s", "-z", "--", under)
    if listed is None:
        return {}
    blobs = {}
    for entry in listed.split(b"\0"):
        meta, _, name = entry.partition(b"\t")
        fields = meta.split()
        if len(fields) == 3 and fields[2] == b"0":
            blobs[name.decode("utf-8", "surrogateescape")] = fields[1].decode()
    # Stat data of a fresh checkout is often "racy" (as old as the index): refreshing it once
    # (as `git status` does) keeps every later diff-files to a stat per file.
    _git(root, "update-index", "-q", "--refresh")
    changed = _git(root, "diff-files", "--name-only", "-z", "--", under)
    if changed is None:
        return {}
    for name in changed.split(b"\0"):
        blobs.pop(name.decode("utf-8", "surrogateescape"), None)
    return blobs


# What building a value from a cached parse raises when the entry is not as this version of
# retrobatch writes it: the reader then parses the file again.
DAMAGED_ENTRY = (KeyError, TypeError, ValueError, AttributeError)


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object kept here, or None when it is missing or damaged (not JSON, nested past
    Python's recursion limit, or not an object): every reader then builds it again."""
    try:
        found = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    return found if isinstance(found, dict) else None


def write_json(path: Path, data: object) -> None:
    """Keep `data` as JSON (a value JSON cannot hold raises TypeError or ValueError)."""
    write_atomic(path, json.dumps(data, separators=(",", ":")).encode())


def write_atomic(path: Path, data: bytes) -> None:
    """Write whole or not at all: another run reading at the same time sees one or the other."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


class Blobs:
    """Blob ids of the repository's files: git's own for a file equal to the index (one `git
    ls-files` for all), else hashed here from the bytes in the work tree."""

    def __init__(self, root: Path, under: str) -> None:
        self.root = root
        self.under = under
        self._tracked: dict[str, str] | None = None
        self._known: dict[Path, str] = {}

    def of(self, path: Path) -> str:
        """Raises OSError when the file cannot be read."""
        known = self._known.get(path)
        if known is None:
            if self._tracked is None:
                self._tracked = tracked_blobs(self.root, self.under)
            rel = path.relative_to(self.root).as_posix()
            known = self._tracked.get(rel) or blob_id(path.read_bytes())
            self._known[path] = known
        return known
