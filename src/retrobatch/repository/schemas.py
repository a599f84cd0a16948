"""The JSON Schemas in the top-level `schemas/`: finding them and validating against them.

The schemas are the one source of every format fact. A built wheel carries them inside the
package (`retrobatch/schemas`); an editable checkout reads the top-level folder directly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

TEMPLATES = ("order-level", "item-level", "chained", "modifications", "item-modifications")


def schema_dir() -> Path:
    """Where the schemas are: inside the installed package, else the checkout's `schemas/`."""
    # The package's own folder (what importlib.resources would say, without its ~5 ms import).
    packaged = Path(__file__).resolve().parents[1] / "schemas"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "schemas"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("retrobatch's schemas/ folder is missing from the installation")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """`name` is the file stem: 'settings', 'manifest', 'receipt' or a template name."""
    path = schema_dir() / f"{name}.schema.json"
    with path.open(encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@cache
def validator(name: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # imported when needed: the CSV checker never is

    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@dataclass(frozen=True)
class SchemaError:
    path: tuple[str | int, ...]
    message: str


def validate(name: str, data: object) -> list[SchemaError]:
    """All violations, in document order, each with a message that names the field."""
    schema = load_schema(name)
    if conforms(schema, schema, data):
        return []  # the usual case, without importing jsonschema (~40 ms) and building a validator
    errors = sorted(validator(name).iter_errors(data), key=lambda e: [str(p) for p in e.path])
    patterned = {tuple(e.path) for e in errors if e.validator == "pattern"}
    result = []
    for e in errors:
        if e.validator == "format" and tuple(e.path) in patterned:
            continue  # the pattern's message says the expected form
        if e.validator == "additionalProperties" and isinstance(e.instance, dict):
            # One error per unknown key, placed on the key's own line.
            where = ".".join(str(p) for p in e.path)
            for key in sorted(set(e.instance) - set(e.schema.get("properties", {}))):
                field = f"{where}.{key}" if where else str(key)
                result.append(SchemaError((*e.path, key), f"{field}: unknown key"))
        else:
            result.append(SchemaError(tuple(e.path), _describe(e)))
    return result


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error.path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        field = f"{where}.{missing}" if where else missing
        return f"{field}: required key is missing"
    if error.validator == "pattern":
        expected = _EXPECTED.get(str(error.schema.get("format") or error.validator_value), "")
        if "id" in str(where) and "[0-9]{4}-[0-9]{2}-[0-9]{2}" in str(error.validator_value):
            expected = _EXPECTED["id"]
        if expected:
            return f"{where}: {error.instance!r} is not {expected}"
        return f"{where}: {error.instance!r} does not have the expected form"
    if error.validator == "propertyNames":
        return f"{where}: key {error.instance!r} is not allowed here"
    message = error.message
    return f"{where}: {message}" if where else message


# The expected form of a value, spelled out for a person, by format (or field).
_EXPECTED = {
    "email": "an e-mail address (name@domain.example, without a display name or spaces)",
    "id": "YYYY-MM-DD-slug: a date, then lowercase letters, digits and - "
    "(e.g. 2026-11-20-checkout-outage)",
}

# Keywords that only describe: they never make a document invalid.
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples"}
)
_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "integer": int,
}


def conforms(schema: Any, root: dict[str, Any], data: object) -> bool:
    """True only when `data` surely satisfies `schema` as jsonschema would judge it. False means
    "not sure": an unknown keyword, an unusual value (a float, 1 standing for True) or a real
    violation, all left to jsonschema, which then finds and words every violation."""
    if not isinstance(schema, dict):
        return schema is True
    for key, want in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key == "additionalProperties":
            if not _additional(want, root, schema.get("properties"), data):
                return False
            continue
        check = _KEYWORDS.get(key)
        if check is None or not check(want, root, data):
            return False
    return True


def _ref(want: str, root: dict[str, Any], data: object) -> bool:
    if not want.startswith("#/"):
        return False
    node: Any = root
    for part in want[2:].split("/"):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return conforms(node, root, data)


def _type(want: object, root: dict[str, Any], data: object) -> bool:
    kind = _TYPES.get(want) if isinstance(want, str) else None
    if kind is None:
        return False
    return isinstance(data, kind) and (kind is bool or not isinstance(data, bool))


def _properties(want: dict[str, Any], root: dict[str, Any], data: object) -> bool:
    if not isinstance(data, dict):
        return True
    return all(conforms(want[k], root, v) for k, v in data.items() if k in want)


def _additional(want: Any, root: dict[str, Any], schema_props: Any, data: object) -> bool:
    if not isinstance(data, dict):
        return True
    known = schema_props if isinstance(schema_props, dict) else {}
    return all(conforms(want, root, v) for k, v in data.items() if k not in known)


def _plain(value: object) -> bool:
    """A value whose equality means the same to jsonschema and to Python."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _unique(want: object, root: dict[str, Any], data: object) -> bool:
    if want is not True or not isinstance(data, list):
        return want is False or not isinstance(data, list)
    return all(isinstance(v, str) for v in data) and len(set(data)) == len(data)


def _number(data: object) -> bool:
    return isinstance(data, int) and not isinstance(data, bool)


_KEYWORDS: dict[str, Any] = {
    "$ref": _ref,
    "type": _type,
    "properties": _properties,
    "required": lambda want, root, data: not isinstance(data, dict) or all(k in data for k in want),
    "const": lambda want, root, data: _plain(want) and type(data) is type(want) and data == want,
    "enum": lambda want, root, data: (
        all(isinstance(v, str) for v in want) and isinstance(data, str) and data in want
    ),
    "pattern": lambda want, root, data: not isinstance(data, str) or bool(re.search(want, data)),
    "format": lambda want, root, data: want == "email" and isinstance(data, str) and "@" in data,
    "minLength": lambda want, root, data: not isinstance(data, str) or len(data) >= want,
    "maxLength": lambda want, root, data: not isinstance(data, str) or len(data) <= want,
    "minimum": lambda want, root, data: _number(data) and data >= want,
    "maximum": lambda want, root, data: _number(data) and data <= want,
    "minProperties": lambda want, root, data: not isinstance(data, dict) or len(data) >= want,
    "propertyNames": lambda want, root, data: (
        not isinstance(data, dict) or all(conforms(want, root, k) for k in data)
    ),
    "items": lambda want, root, data: (
        not isinstance(data, list) or all(conforms(want, root, v) for v in data)
    ),
    "uniqueItems": _unique,
}
