"""The JSON Schemas in the top-level `schemas/`: finding them and validating against them.

The schemas are the one source of every format fact. A built wheel carries them inside the
package (`retrobatch/schemas`); an editable checkout reads the top-level folder directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

TEMPLATES = ("order-level", "item-level", "chained", "modifications", "item-modifications")


def schema_dir() -> Path:
    """Where the schemas are: inside the installed package, else the checkout's `schemas/`."""
    packaged = Path(str(resources.files("retrobatch"))) / "schemas"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "schemas"
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
    errors = sorted(validator(name).iter_errors(data), key=lambda e: [str(p) for p in e.path])
    result = []
    for e in errors:
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
        return f"{where}: {error.instance!r} does not have the expected form"
    if error.validator == "propertyNames":
        return f"{where}: key {error.instance!r} is not allowed here"
    message = error.message
    return f"{where}: {message}" if where else message
