"""Finding submission folders in a repository: any folder holding a `manifest.yaml`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .manifest import MANIFEST_FILE
from .receipts import RECEIPT_FILE

SUBMISSIONS_DIR = "submissions"


@dataclass(frozen=True)
class SubmissionFolder:
    id: str
    folder: Path
    rel: str  # posix path relative to the repository root

    @property
    def receipt_path(self) -> Path:
        return self.folder / RECEIPT_FILE


def folder_at(root: Path, folder: Path) -> SubmissionFolder:
    return SubmissionFolder(folder.name, folder, folder.relative_to(root).as_posix())


def discover(root: Path) -> list[SubmissionFolder]:
    """Every submission under `submissions/`, sorted by id (which sorts by date)."""
    base = root / SUBMISSIONS_DIR
    if not base.is_dir():
        return []
    found = [
        folder_at(root, manifest.parent)
        for manifest in base.glob(f"*/{MANIFEST_FILE}")
        if manifest.is_file()
    ]
    return sorted(found, key=lambda s: s.id)


def strays(root: Path) -> list[Path]:
    """Folders under `submissions/` without a `manifest.yaml`: never sent, so `check` says so."""
    base = root / SUBMISSIONS_DIR
    if not base.is_dir():
        return []
    return sorted(
        p
        for p in base.iterdir()
        if p.is_dir() and not p.name.startswith(".") and not (p / MANIFEST_FILE).is_file()
    )


def containing(root: Path, path: Path) -> SubmissionFolder | None:
    """The submission a path belongs to: the nearest folder at or above it with a manifest."""
    path = path.resolve()
    root = root.resolve()
    current = path if path.is_dir() else path.parent
    while current == root or root in current.parents:
        if (current / MANIFEST_FILE).is_file():
            return folder_at(root, current)
        if current == root:
            break
        current = current.parent
    return None
