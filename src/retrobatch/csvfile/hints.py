"""The fix for a failing value, where it is known: said next to the finding.

Only values that already failed a check are looked at, so the checker's speed is untouched.
"""

from __future__ import annotations


def for_value(kind: str, name: str, value: str) -> str | None:
    from retrobatch.csvfile import fix as csvfix

    if kind == "date":
        order = csvfix.day_month_order([value])
        iso = csvfix.iso_form(value, order)
        if iso:
            return f"{iso} with its offset, or run `retrobatch fix --timezone ZONE`"
        if csvfix.iso_form(value, "MD") and order is None:
            return (
                "day and month cannot be told apart in this value; write YYYY-MM-DDThh:mm:ss "
                "with the offset, or run `retrobatch fix --timezone ZONE`"
            )
        return None
    if kind == "decimal":
        plain = csvfix.money_hint(value)
        if plain:
            return f"write {plain} (no currency symbol or thousands separator), or run `fix`"
        if "," in value and value.replace(",", "", 1).isdigit():
            return f"write {value.replace(',', '.')} (a decimal point, not a comma)"
    if kind in ("integer", "string") and csvfix.SCIENTIFIC.fullmatch(value):
        return f"Excel damaged this value; export {name} as text"
    return None
