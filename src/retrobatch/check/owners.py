"""CODEOWNERS: does a real owner have to approve changes to where batches go?

GitHub ignores a CODEOWNERS line whose owners do not exist, so the placeholder teams `init`
writes would silently require nobody's review. `check --format github` warns until
`retrobatch.yaml` and `.github/` each have an owner that is not a placeholder. Matching
follows GitHub's rules closely enough for these two paths: the last matching line wins, a
leading `/` anchors at the root, a trailing `/` means a folder, `*` and `**` are globs.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from retrobatch.findings import Finding, finding

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
# What must be owned, and a path under it that a change would touch.
GUARDED = {"retrobatch.yaml": "retrobatch.yaml", ".github/": ".github/workflows/submit.yml"}
PLACEHOLDER_ORG = "@your-org/"


def unowned(root: Path) -> list[Finding]:
    """A warning for each guarded path with no real owner (none when all are owned)."""
    where = next((loc for loc in LOCATIONS if _regular(root / loc)), None)
    rules = _rules((root / where).read_text(encoding="utf-8", errors="replace")) if where else []
    problems = []
    for guarded, sample in GUARDED.items():
        owners = next((o for pattern, o in reversed(rules) if _matches(pattern, sample)), [])
        real = [o for o in owners if _real(o)]
        if real:
            continue
        why = "no CODEOWNERS file" if where is None else f"no real owner in {where}"
        problems.append(
            finding(
                "config.no-owner",
                where or guarded.rstrip("/"),
                f"{guarded} has {why}: a change to it needs nobody's review; name a team or "
                "person that exists (placeholders such as @your-org/... are ignored by GitHub) "
                "and require code owner review on main",
            )
        )
    return problems


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _rules(text: str) -> list[tuple[str, list[str]]]:
    rules = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            pattern, *owners = line.split()
            rules.append((pattern, owners))
    return rules


def _real(owner: str) -> bool:
    if owner.startswith("@"):
        return not owner.lower().startswith(PLACEHOLDER_ORG) and len(owner) > 1
    return "@" in owner  # an e-mail address


def _matches(pattern: str, path: str) -> bool:
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    pattern = pattern.lstrip("/")
    folder = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    if pattern in ("*", "**"):
        return True
    candidates = [path] if anchored else _suffixes(path)
    for candidate in candidates:
        parts = candidate.split("/")
        for end in range(1, len(parts) + 1):
            prefix = "/".join(parts[:end])
            is_folder = end < len(parts)
            if folder and not is_folder:
                continue
            if fnmatch.fnmatchcase(prefix, pattern.replace("**", "*")):
                return True
    return False


def _suffixes(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[i:]) for i in range(len(parts))]
