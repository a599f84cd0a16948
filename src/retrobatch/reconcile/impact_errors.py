"""impact.com's processing errors: what each Reason means, what to do, and which finding catches it.

`reconcile` records impact.com's `Reason` codes as they come; `retrobatch status ID` and
`retrobatch explain CODE` read their meaning here, and `docs/impact-errors.md` is rendered from
this catalogue. The codes are impact.com's (its error codes reference and the FTP submission
error object); the wording is ours. impact.com's list is not complete: an unknown code is kept
and shown as it came. `caught_by` names the finding codes with which `check` now stops the
cause before sending; an empty tuple means the cause lies in impact.com's account data (contracts,
partners, actions already processed), which a file alone cannot show.
"""

from __future__ import annotations

from typing import NamedTuple

REFERENCE = "impact.com help: Error Codes Reference (article 48001235116)"
ERROR_OBJECT = "impact.com integrations: the-ftp-submission-error-object"


class ImpactError(NamedTuple):
    meaning: str
    fix: str
    caught_by: tuple[str, ...]
    source: str


def _e(
    meaning: str, fix: str, caught_by: tuple[str, ...] = (), source: str = REFERENCE
) -> ImpactError:
    return ImpactError(meaning, fix, caught_by, source)


_MODS = "impact.com help: batch modifications and reversals"
_CONTRACT = "the partner's contract in impact.com"

ERRORS: dict[str, ImpactError] = {
    "MALFORMED": _e(
        "impact.com could not read a value: a column holds the wrong type or format",
        "find the row and column (retrobatch check names them); correct the value's format",
        ("csv.type", "csv.bad-date", "csv.required", "csv.row-length", "csv.malformed"),
    ),
    "CONV_MALFORMED": _e(
        "impact.com could not make sense of a conversion row",
        "look the OrderId up in impact.com for the detailed message; correct that row",
        ("csv.type", "csv.bad-date", "csv.required", "csv.no-attribution"),
    ),
    "CAMPAIGN_NOT_FOUND": _e(
        "the CampaignId is not a program of this account",
        "correct CampaignId (Settings -> Programs shows the id)",
    ),
    "ACTIONTRACKER_NOT_FOUND": _e(
        "the ActionTrackerId (Event Type) does not exist in the program",
        "correct ActionTrackerId and the manifest's event_type",
        ("csv.event-type-mismatch",),
    ),
    "ACTIONTRACKER_NOT_ACTIVE": _e(
        "the Event Type exists but is not active",
        "ask impact.com (your CSM or support) to activate the event type, then send again",
    ),
    "ACTIONTRACKER_CAMPAIGN_MISMATCH": _e(
        "the Event Type does not belong to the program named by CampaignId",
        "make CampaignId and ActionTrackerId belong together",
    ),
    "PARTNER_NOT_ACTIVE": _e(
        "the partner the conversion is attributed to is not active",
        "check the partner's status in impact.com; nothing in the file can change it",
    ),
    "ACTION_REF_NOT_FOUND": _e(
        "no referral (click, promo code, partner ...) for the conversion was found",
        "check the attribution keys of the row (ClickId, PromoCode, MediaId ...)",
        ("csv.no-attribution",),
        ERROR_OBJECT,
    ),
    "ACTIONTERMS_NOT_FOUND": _e(
        "the contract that would apply has no terms for this Event Type",
        f"add terms for the event type to {_CONTRACT}, or attribute to another partner",
        (),
        ERROR_OBJECT,
    ),
    "CONTRACT_NOT_FOUND": _e(
        "no contract with the partner covers this conversion",
        f"check {_CONTRACT} and its dates",
    ),
    "RESTRICTED_PROMOCODE": _e(
        "the promo code is restricted and cannot credit this partner",
        "check the promo code's settings in impact.com, or attribute by another key",
    ),
    "BLOCKED_BY_PROMOCODE": _e(
        "a promo code rule of the program blocked crediting this conversion",
        "check the program's promo code rules; the row itself may be right",
        (),
        ERROR_OBJECT,
    ),
    "REFTYPE_NOT_ACCEPTED": _e(
        "the kind of referral (often a view-through) is not covered by the contract's terms",
        f"nothing to fix in the file; {_CONTRACT} decides which referrals pay",
    ),
    "OID_DUPLICATE": _e(
        "the OrderId was already used for this event type, or an order's lines were not "
        "consecutive",
        "keep each order's lines together and send every OrderId once; to change an existing "
        "action send a modifications batch",
        ("csv.order-not-contiguous", "csv.duplicate-row", "repo.duplicate-order"),
    ),
    "CONV_DUPLICATE": _e(
        "the conversion duplicates one impact.com already has",
        "do not send it again; change the existing action with a modifications batch",
        ("csv.duplicate-row", "repo.duplicate-order"),
        ERROR_OBJECT,
    ),
    "OID_MISSING": _e(
        "the row has no OrderId",
        "fill in OrderId",
        ("csv.required", "csv.missing-column"),
        ERROR_OBJECT,
    ),
    "NO_ITEM": _e(
        "an item-level row lacks its item (Sku, Category, Quantity or price)",
        "complete the line item",
        ("csv.item-incomplete",),
        ERROR_OBJECT,
    ),
    "OUTSIDE_ASSOCIATION_WINDOW": _e(
        "the conversion happened outside the window in which impact.com associates it with the "
        "referral (the click or code came too long before)",
        "check EventDate; within the window only the partner's referral period decides",
        ("csv.date-window", "csv.date-in-future", "csv.bad-date"),
        ERROR_OBJECT,
    ),
    "CREDITING_RULE_MISMATCH": _e(
        "no crediting rule of the program credits this conversion to a partner",
        "check the program's crediting rules; the file can only change the attribution keys",
        (),
        ERROR_OBJECT,
    ),
    "MAX_RECURRENCES_REACHED": _e(
        "the contract pays this event only a limited number of times, and the limit is reached",
        f"nothing to fix in the file; {_CONTRACT} sets the limit",
        (),
        ERROR_OBJECT,
    ),
    "NO_VALID_ACTION_REF": _e(
        "a referral is present (click, promo code, call, parent action) but cannot be paid",
        "check the partner's contract and the referral's date",
        (),
        ERROR_OBJECT,
    ),
    "BLACKLISTED_SOURCE_IP": _e(
        "the conversion came from an IP address the account blocks",
        "nothing to fix in the file if the block is right; otherwise ask impact.com",
        (),
        ERROR_OBJECT,
    ),
    "UNCLAIMED": _e(
        "no partner could be credited: the conversion is not attributed to anyone",
        "check the attribution keys; a conversion nobody referred stays unclaimed",
        ("csv.no-attribution",),
        ERROR_OBJECT,
    ),
    "CALL_*": _e(
        "a call-tracking problem (codes starting CALL_): the call could not be tied to a "
        "partner or a contract",
        "check CallerId and the program's call tracking setup",
        (),
        ERROR_OBJECT,
    ),
    "NO_CHANGE": _e(
        "the modification changes nothing: the action already has these values",
        "drop the row, or give the new values",
        (),
        _MODS,
    ),
    "BAD_DISPOSITION": _e(
        "the Reason is not a reason code of this event type",
        "use a default code or one set up for the event type (custom codes are case-sensitive)",
        ("csv.reason",),
        _MODS,
    ),
    "ALREADY_LOCKED": _e(
        "the action has locked and can no longer be modified",
        "nothing the file can do; settle it with the partner in impact.com",
        (),
        _MODS,
    ),
    "ACTION_NOT_FOUND": _e(
        "no action matches the ActionId, or the OrderId with ActionTrackerId",
        "check the ids; OrderId+ActionTrackerId reaches only the newest action of an order, "
        "ActionId reaches older ones",
        ("csv.no-action-ref", "csv.type"),
        _MODS,
    ),
    "ALREADY_REVERSED": _e(
        "the action was already reversed",
        "drop the row; a reversed action stays reversed",
        (),
        _MODS,
    ),
    "ALREADY_APPROVED": _e(
        "the action was already approved and cannot be changed this way",
        "drop the row; settle it with the partner in impact.com",
        (),
        _MODS,
    ),
}


def lookup(code: str) -> ImpactError | None:
    """The entry for a Reason as impact.com sent it (CALL_... codes share one), or None."""
    key = code.strip().upper()
    if key in ERRORS:
        return ERRORS[key]
    if key.startswith("CALL_"):
        return ERRORS["CALL_*"]
    return None
