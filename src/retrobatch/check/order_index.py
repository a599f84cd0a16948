"""The keys of every CSV already in the repository, so duplicate detection never re-reads history.

For each CSV (by its git blob id, and the template that says which column holds the key) the
index keeps an 8-byte hash of every order key (conversions: the OrderId; modifications: the
action key), in `.git/retrobatch/orders/<blob>.<template>`. A batch is compared with a delivered
one through these hashes alone; only when some hash matches is that one CSV read, for the exact
orders and their lines, so a hash collision can never make a false finding. Entries are keyed by
content: a missing or damaged one is built again from the file, and nothing is ever stale.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from retrobatch.csvfile.validate import collect_keys
from retrobatch.repository import cachedir
from retrobatch.repository.submissions import SUBMISSIONS_DIR

ORDERS_DIR = "orders"
_WIDTH = 8


def key_hashes(keys: Iterable[str]) -> set[int]:
    return set(memoryview(_digests(keys)).cast("Q"))


def _digests(keys: Iterable[str]) -> bytes:
    blake = hashlib.blake2b
    return b"".join(
        blake(k.encode("utf-8", "surrogatepass"), digest_size=_WIDTH).digest() for k in keys
    )


class OrderIndex:
    """Key hashes of the repository's CSVs, read from `.git/retrobatch/orders/` or built once."""

    def __init__(self, root: Path, notice: Callable[[str], None] | None = None) -> None:
        self.root = root
        self.notice = notice
        where = cachedir.cache_dir(root)
        self.folder = where / ORDERS_DIR if where is not None else None
        self.blobs = cachedir.Blobs(root, SUBMISSIONS_DIR)
        self._memory: dict[str, memoryview] = {}  # built without a git folder to keep them

    def blob(self, csv_path: Path) -> str:
        return self.blobs.of(csv_path)

    def _file(self, blob: str, template: str) -> Path | None:
        return self.folder / f"{blob}.{template}" if self.folder is not None else None

    def prepare(self, csvs: list[tuple[Path, str]]) -> None:
        """Build the entries missing among these (CSV, template) pairs, saying so once."""
        missing = []
        for path, template in csvs:
            try:
                if not self._present(self.blob(path), template):
                    missing.append((path, template))
            except OSError:
                continue  # unreadable: `hashes` gives none
        if not missing:
            return
        if self.folder is not None and not _takes_files(self.folder):
            self.folder = None  # a read-only git folder: this run keeps the index in memory
        if self.notice is not None:
            where = (
                f"once (kept in {self.folder})"
                if self.folder is not None
                else "for this run only (no writable git folder to keep it in)"
            )
            self.notice(
                f"retrobatch: indexing the orders of {len(missing):,} CSV(s) already in the "
                f"repository, {where}"
            )
        for path, template in missing:
            self.hashes(path, template)

    def hashes(self, csv_path: Path, template: str) -> memoryview:
        """The key hashes of one CSV (empty when it cannot be read)."""
        try:
            blob = self.blob(csv_path)
        except OSError:
            return memoryview(b"").cast("Q")
        found = self._read(blob, template)
        if found is not None:
            return found
        orders, actions = collect_keys(csv_path, template)
        data = _digests(orders.keys() if orders else actions.keys())
        view = memoryview(data).cast("Q")
        target = self._file(blob, template)
        try:
            if target is None:
                raise OSError("no git folder")
            cachedir.write_atomic(target, len(data).to_bytes(_WIDTH, "little") + data)
        except OSError:
            self._memory[f"{blob}.{template}"] = view
        return view

    def _read(self, blob: str, template: str) -> memoryview | None:
        """An entry whose length agrees with its header, else None (to be built again)."""
        kept = self._memory.get(f"{blob}.{template}")
        if kept is not None:
            return kept
        target = self._file(blob, template)
        if target is None:
            return None
        try:
            raw = target.read_bytes()
        except OSError:
            return None
        if len(raw) < _WIDTH or int.from_bytes(raw[:_WIDTH], "little") != len(raw) - _WIDTH:
            return None
        if (len(raw) - _WIDTH) % _WIDTH:
            return None
        return memoryview(raw)[_WIDTH:].cast("Q")

    def _present(self, blob: str, template: str) -> bool:
        """Whether a sound entry exists, from its header and size (without reading it)."""
        if f"{blob}.{template}" in self._memory:
            return True
        target = self._file(blob, template)
        if target is None:
            return False
        try:
            with target.open("rb") as fh:
                head = fh.read(_WIDTH)
                size = os.fstat(fh.fileno()).st_size
        except OSError:
            return False
        told = int.from_bytes(head, "little")
        return len(head) == _WIDTH and told == size - _WIDTH and told % _WIDTH == 0


def _takes_files(folder: Path) -> bool:
    """Whether an index entry can be written in `folder` (made if missing)."""
    import tempfile  # only when entries are missing: `check` starts without it

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False
