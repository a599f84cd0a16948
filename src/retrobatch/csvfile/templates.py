"""CSV templates: the template schemas compiled into column specs, and headers matched to them.

The schemas in `schemas/<template>.schema.json` are the one source of every column fact (names,
aliases, patterns, lengths, which code a failure gets). This module turns them into compiled
regular expressions once, so the checker never restates a fact and never runs `jsonschema` per
row (about fifty times slower than checking a whole column with one regex).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from retrobatch.findings import Finding, finding
from retrobatch.repository import schemas

DEFAULT_TYPE_CODE = "csv.type"
DEFAULT_EMPTY_CODE = "csv.required"
CELL_REF = "#/$defs/cell"  # what every cell of a template obeys

# A pattern may be applied to a whole column joined with "\n" only when no part of it can match
# a line break: no ".", \s, \n, \S, \D or \W, except in a negated class that excludes \s or \n.
_NEGATED = re.compile(r"\[\^((?:\\.|[^\]])*)\]")
_CROSSING = re.compile(r"(?<!\\)\.|\\[sSDWn]")
# How every schema pattern ends: `$` alone also matches before a final "\n" in Python.
END_ANCHOR = "$(?!\\n)"
_ANCHOR = re.compile(r"(?<!\\)[$^]")
_CAPTURING = re.compile(r"(?<!\\)\((?!\?)")  # groups whose captures a whole-column test never reads


@dataclass(frozen=True)
class Column:
    """One column's rules, as its template schema states them."""

    name: str
    aliases: tuple[str, ...]
    kind: str
    description: str
    required: bool
    empty_code: str
    max_length: int | None
    # (pattern, code) that a value must NOT match, in the order they are tried (formula first).
    forbidden: tuple[tuple[re.Pattern[str], str], ...]
    pattern: re.Pattern[str] | None
    pattern_code: str
    # The same rules applied to a whole column joined with "\n", when they cannot cross lines.
    joined_forbidden: tuple[re.Pattern[str] | None, ...]
    joined_pattern: re.Pattern[str] | None
    # A character each forbidden pattern needs: text without it holds no forbidden cell.
    needles: tuple[str | None, ...]
    keywords: Mapping[str, Any] = field(default_factory=dict)

    def problem(self, value: str) -> tuple[str, str] | None:
        """The code and reason for one non-empty cell, or None; one problem per cell."""
        for pattern, code in self.forbidden:
            if pattern.search(value):
                return code, _FORBIDDEN_REASONS.get(code, "is not allowed here")
        if self.max_length is not None and len(value) > self.max_length:
            return "csv.too-long", f"is {len(value):,} characters long (at most {self.max_length})"
        if self.pattern is not None and not self.pattern.search(value):
            if self.kind == "date":
                return self.pattern_code, _date_reason(value)
            reason = f"is not {_KIND_NAMES.get(self.kind, 'an allowed value')}"
            if "x-max-value" in self.keywords:
                reason += f" (at most {self.keywords['x-max-value']})"
            return self.pattern_code, reason
        return None

    def format(self) -> str:
        """The column's format in words, for `retrobatch columns` and docs/formats.md."""
        words = {**_KIND_NAMES, "string": "text", "reason": "a reason code"}
        text = words.get(self.kind, self.kind)
        if self.max_length is not None:
            text += f", at most {self.max_length} characters"
        if "x-max-value" in self.keywords:
            text += f", at most {self.keywords['x-max-value']}"
        if "x-expected-values" in self.keywords:
            text += f" (usually {' or '.join(self.keywords['x-expected-values'])})"
        return text

    def passes(
        self,
        values: list[str],
        forbidden: Sequence[re.Pattern[str] | None] | None = None,
        *,
        one_per_line: bool = False,
        lengths: bool = True,
    ) -> bool:
        """True only if no non-empty value has a `problem`, judged on the whole column at once
        (False means: look at single cells). `forbidden`: the joined forbidden patterns still
        to apply (default all); `one_per_line`: no value holds a line break; `lengths`: False
        when no value can be longer than the maximum."""
        limit = self.max_length
        if lengths and limit is not None and values and max(map(len, values)) > limit:
            return False
        forbidden = self.joined_forbidden if forbidden is None else forbidden
        if not forbidden and self.pattern is None:
            return True
        joined = "\n".join(values)
        if not one_per_line and joined.count("\n") != len(values) - 1:
            return False
        if any(pattern is None or pattern.search(joined) for pattern in forbidden):
            return False
        if self.pattern is None:
            return True
        if self.joined_pattern is None:
            return False
        return self.joined_pattern.fullmatch(joined) is not None


_FORBIDDEN_REASONS = {
    "csv.formula": "is a spreadsheet formula: export plain values",
    "csv.plain-email": "is a plain e-mail address: use an id or a SHA-1/SHA-256 hex digest",
}
_KIND_NAMES = {
    "integer": "an integer (digits only)",
    "decimal": "a decimal with at most two places and no sign",
    "currency": "a currency code of three capital letters",
    "date": "a date-time YYYY-MM-DDTHH:MM[:SS] with Z or an offset",
    "digest": "a SHA-1 or SHA-256 hex digest",
    "enum": "one of the allowed values",
    "action-id": "an impact.com action id (dotted digits such as 1000.4636.158133, or M and the "
    "mobile id)",
}
_DATE_ONLY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_NO_OFFSET = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$")
_POLICY = "retrobatch policy (retrobatch explain csv.bad-date)"


def _date_reason(value: str) -> str:
    """Why an EventDate fails, saying which part is retrobatch's policy rather than impact.com's
    format (docs/findings.md, csv.bad-date)."""
    if value.strip().upper() == "NOW":
        return (
            f"is NOW, which impact.com stamps with the processing time: {_POLICY} asks for when "
            "the conversion happened"
        )
    if _DATE_ONLY.match(value):
        return (
            f"has no time of day: {_POLICY} asks for the time and an offset, since impact.com "
            "would have to guess them"
        )
    if _NO_OFFSET.match(value):
        return (
            f"has no offset: {_POLICY} asks for Z or an offset such as -08:00, since impact.com "
            "would have to guess the time zone"
        )
    return "is not an ISO 8601 date-time YYYY-MM-DDTHH:MM[:SS] with Z or an offset"


@dataclass(frozen=True)
class Group:
    """Columns of which a row needs one alternative (`exactly`: not more than one either)."""

    label: str
    alternatives: tuple[tuple[str, ...], ...]
    exactly: bool
    missing_code: str
    conflict_code: str | None

    def describe(self) -> str:
        return " or ".join("+".join(alt) for alt in self.alternatives)


@dataclass(frozen=True)
class Template:
    name: str
    kind: str  # "conversion" or "modification"
    columns: dict[str, Column]
    groups: tuple[Group, ...]
    unique: tuple[str, ...]
    contiguous: str | None
    schema: Mapping[str, Any]
    lookup: dict[str, str]  # lower-case name or alias -> canonical name
    extra: Column  # the rules every cell obeys, applied to columns the template does not know
    # Other names a column goes by (patternProperties, e.g. Sku1, Sku2): checked like it, but
    # never required and never the column itself.
    indexed: tuple[tuple[re.Pattern[str], str], ...] = ()
    # Rows may carry other event types than the manifest's (chained: parent and children).
    mixed_event_types: bool = False

    def canonical(self, header_name: str) -> str | None:
        return self.lookup.get(header_name.lower())

    def indexed_form(self, header_name: str) -> str | None:
        """The column that `header_name` is an indexed form of (Sku2 -> Sku), if any."""
        for pattern, column in self.indexed:
            if pattern.search(header_name):
                return column
        return None

    def with_keyword(self, keyword: str) -> list[Column]:
        return [c for c in self.columns.values() if keyword in c.keywords]


@cache
def load_template(name: str) -> Template:
    """The compiled template; `name` is one of `schemas.TEMPLATES`."""
    if name not in schemas.TEMPLATES:
        raise ValueError(f"unknown template {name!r}")
    return compile_template(name, schemas.load_schema(name))


def is_conversion(name: str) -> bool:
    """Whether a template carries conversions (orders) rather than modifications (actions)."""
    return load_template(name).kind == "conversion"


def compile_template(name: str, schema: Mapping[str, Any]) -> Template:
    aliases: dict[str, str] = dict(schema.get("x-aliases", {}))
    required = set(schema.get("required", ()))
    columns = {
        col: _compile_column(col, prop, schema, required, aliases)
        for col, prop in schema["properties"].items()
    }
    lookup = {col.lower(): col for col in columns}
    lookup.update({alias.lower(): col for alias, col in aliases.items()})
    meta = schema.get("x-template", {})
    return Template(
        name=name,
        kind=meta.get("kind", "conversion"),
        columns=columns,
        groups=tuple(_compile_group(g) for g in schema.get("allOf", ()) if "x-one-of-columns" in g),
        unique=tuple(meta.get("unique", ())),
        contiguous=meta.get("contiguous"),
        schema=schema,
        lookup=lookup,
        extra=_compile_column("", {"$ref": CELL_REF}, schema, set(), {}),
        indexed=tuple(
            (re.compile(pattern, re.IGNORECASE), ref.rpartition("/")[2])
            for pattern, sub in schema.get("patternProperties", {}).items()
            if (ref := sub.get("$ref", "")).startswith("#/properties/")
        ),
        mixed_event_types=bool(meta.get("mixed-event-types", False)),
    )


def _compile_column(
    name: str,
    prop: Mapping[str, Any],
    schema: Mapping[str, Any],
    required: set[str],
    aliases: Mapping[str, str],
) -> Column:
    merged: list[Mapping[str, Any]] = []
    ref = prop.get("$ref")
    if ref:
        merged.append(_referenced(schema, ref))
    merged.append(prop)
    forbidden = tuple(
        (re.compile(part["not"]["pattern"]), part.get("x-not-code", DEFAULT_TYPE_CODE))
        for part in merged
        if "pattern" in part.get("not", {})
    )
    pattern_text = prop.get("pattern")
    return Column(
        name=name,
        aliases=tuple(a for a, c in aliases.items() if c == name),
        kind=prop.get("x-kind", "string"),
        description=prop.get("description", ""),
        required=name in required,
        empty_code=prop.get("x-empty-code", DEFAULT_EMPTY_CODE),
        max_length=prop.get("maxLength"),
        forbidden=forbidden,
        pattern=re.compile(pattern_text) if pattern_text else None,
        pattern_code=prop.get("x-code", DEFAULT_TYPE_CODE),
        joined_forbidden=tuple(_joined_search(p.pattern) for p, _ in forbidden),
        joined_pattern=_joined_lines(pattern_text) if pattern_text else None,
        needles=tuple(_needle(p.pattern) for p, _ in forbidden),
        keywords={k: v for k, v in prop.items() if k.startswith("x-")},
    )


def _needle(pattern: str) -> str | None:
    """A literal character every match of `pattern` contains, found at its top level."""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c in "(|":
            return None
        if c == "\\":
            i += 2
        elif c == "[":
            i = pattern.index("]", i + 2) + 1
        elif c in "^$.)":
            i += 1
        else:
            optional = pattern[i + 1 : i + 2] in ("?", "*") or pattern[i + 1 : i + 3] == "{0"
            if not optional and c not in "+*?{}":
                return c
            i += 1
    return None


def _referenced(schema: Mapping[str, Any], ref: str) -> Mapping[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $ref is supported, not {ref!r}")
    node: Any = schema
    for part in ref[2:].split("/"):
        node = node[part]
    return node  # type: ignore[no-any-return]


def _compile_group(part: Mapping[str, Any]) -> Group:
    meta = part["x-one-of-columns"]
    exactly = "oneOf" in part
    options = part["oneOf"] if exactly else part["anyOf"]
    return Group(
        label=meta.get("label", "one of these columns"),
        alternatives=tuple(tuple(opt["required"]) for opt in options),
        exactly=exactly,
        missing_code=meta.get("missing", DEFAULT_EMPTY_CODE),
        conflict_code=meta.get("conflict"),
    )


def _outside_negated_classes(pattern: str) -> str | None:
    """The pattern without its negated classes, or None if one of them admits a line break."""
    if any("\\s" not in cls and "\\n" not in cls for cls in _NEGATED.findall(pattern)):
        return None
    rest = _NEGATED.sub("", pattern)
    return None if _CROSSING.search(rest) else rest


def _joined_lines(pattern: str) -> re.Pattern[str] | None:
    """`pattern` for a whole "\\n"-joined column: it matches the column entirely when every line
    is empty or matches. The repetition is possessive, so no backtracking state grows with
    the column, and one pass over it beats deleting matching lines (which tries the pattern
    at every character) by about a third."""
    if not (pattern.startswith("^") and pattern.endswith(END_ANCHOR)):
        return None
    body = pattern[1 : -len(END_ANCHOR)]
    rest = _outside_negated_classes(body)
    if rest is None or _ANCHOR.search(rest):
        return None
    line = f"(?:{_CAPTURING.sub('(?:', body)})?"
    return re.compile(f"(?:{line}\\n)*+{line}")


def _joined_search(pattern: str) -> re.Pattern[str] | None:
    """Finds a line of a "\\n"-joined column that matches `pattern`."""
    if pattern.endswith(END_ANCHOR):  # per line, `$` alone: no cell of the column holds a "\n"
        pattern = pattern.removesuffix(END_ANCHOR) + "$"
    if _outside_negated_classes(pattern) is None:
        return None
    return re.compile(pattern, re.MULTILINE)


@dataclass(frozen=True)
class HeaderProblem:
    code: str
    column: str | None
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class HeaderMap:
    """Which template column each header field is, and what is wrong with the header."""

    names: tuple[str, ...]  # as written in the file
    columns: tuple[Column | None, ...]  # per field; None for an unknown or duplicate column
    index: dict[str, int]  # canonical name -> field index (the first, when duplicated)
    problems: tuple[HeaderProblem, ...]

    def has(self, canonical: str) -> bool:
        return canonical in self.index

    def name_of(self, canonical: str) -> str:
        """The header name as written, for findings; the canonical name when absent."""
        i = self.index.get(canonical)
        return canonical if i is None else self.names[i]

    def findings(self, rel: str, line: int = 1) -> list[Finding]:
        return [finding(p.code, rel, p.message, line, p.column, hint=p.hint) for p in self.problems]


def map_header(template: Template, header_fields: Sequence[str], *, app: bool = False) -> HeaderMap:
    """Match header names case-insensitively (aliases included) to the template's columns.

    `app`: the destination is a mobile app, whose rows need the columns marked
    `x-required-for-app`.
    """
    names = tuple(_strip_bom(header_fields))
    if len(names) == 1:
        for delimiter, called in ((";", "';'"), ("\t", "tab")):
            parts = names[0].split(delimiter)
            if sum(template.canonical(p.strip()) is not None for p in parts) > 1:
                message = (
                    f"the header is one field holding {len(parts)} column names separated by "
                    f"{called}: the file is {called}-delimited, impact.com reads commas"
                )
                hint = "run `retrobatch fix`, or export as CSV with commas"
                problem = HeaderProblem("csv.missing-column", None, message, hint)
                return HeaderMap(names, (None,), {}, (problem,))
    columns: list[Column | None] = []
    index: dict[str, int] = {}
    seen: dict[str, str] = {}  # lower-case canonical (or unknown name) -> name as first written
    problems: list[HeaderProblem] = []
    for i, name in enumerate(names):
        canonical = template.canonical(name)
        key = (canonical or name).lower()
        if key in seen:
            same = "" if seen[key].lower() == name.lower() else f" ({canonical or name})"
            problems.append(
                HeaderProblem(
                    "csv.duplicate-column",
                    name,
                    f"column {name!r} appears twice: {seen[key]!r} is the same column{same}",
                )
            )
            columns.append(None)
            continue
        seen[key] = name
        if canonical is None:
            indexed = template.indexed_form(name)
            if indexed is None:
                problems.append(HeaderProblem("csv.unknown-column", name, _unknown(template, name)))
            columns.append(template.columns[indexed] if indexed else None)
            continue
        index[canonical] = i
        columns.append(template.columns[canonical])
    for col in template.columns.values():
        needed = col.required or (app and col.keywords.get("x-required-for-app", False))
        if needed and col.name not in index:
            problems.append(
                HeaderProblem(
                    "csv.missing-column",
                    None,
                    f"the header has no {col.name} column, which {template.name} requires",
                )
            )
    for group in template.groups:
        if not any(all(c in index for c in alt) for alt in group.alternatives):
            problems.append(
                HeaderProblem(
                    "csv.missing-column",
                    None,
                    f"the header has no {group.label} column: {template.name} needs "
                    f"{group.describe()}",
                )
            )
    return HeaderMap(names, tuple(columns), index, tuple(problems))


def _strip_bom(fields: Sequence[str]) -> list[str]:
    out = list(fields)
    if out and out[0].startswith("\ufeff"):
        out[0] = out[0][1:]
    return out


def _unknown(template: Template, name: str) -> str:
    if not name.strip():
        return "a column without a name (an extra comma in the header?)"
    known = {c.lower(): c for c in template.columns}
    known.update({a.lower(): a for c in template.columns.values() for a in c.aliases})
    import difflib  # only for a header with an unknown column

    close = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.6)
    hint = f"; did you mean {known[close[0]]!r}?" if close else ""
    return f"column {name!r} is not part of the {template.name} template{hint}"


def column_index(template_name: str, header: list[str], canonical: str) -> int | None:
    """Where `canonical` (e.g. "OrderId") is in a header, by name or alias, in any case."""
    template = load_template(template_name)
    for i, name in enumerate(_strip_bom(header)):
        if template.canonical(name) == canonical:
            return i
    return None
