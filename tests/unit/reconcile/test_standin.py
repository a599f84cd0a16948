"""The demo's impact.com stand-in against the tests' own model of the API (support.impact_fake).

Both are driven with the same scenario through the real ImpactClient and must give the same
results: the demo then shows what the tests check, and neither can drift from the project's
description of impact.com's API (README, "Reconciling with impact.com") on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer

from retrobatch.reconcile import standin
from retrobatch.reconcile.api import Credentials, ImpactApiError, ImpactClient, RetryPolicy
from support.impact_fake import SID, TOKEN, FakeFile, FakeImpact

START = dt.datetime(2026, 11, 27, 5, 0, tzinfo=dt.UTC)
END = START + dt.timedelta(hours=48)
ERROR = {"OrderId": "A-2", "Sku": "SKU-1", "Status": "Validation", "Reason": "OID_DUPLICATE"}
FILES: list[dict[str, Any]] = [
    {"batch_id": "F-early", "file_name": "a.csv", "submitted": "2026-11-27T04:59:59Z"},
    {"batch_id": "F-1", "file_name": "a.csv", "submitted": "2026-11-27T05:01:00Z"},
    {
        "batch_id": "F-2",
        "file_name": "b.part-1-of-2.csv",
        "submitted": "2026-11-26T21:02:00-08:00",  # 05:02 UTC
        "statuses": ["Queued", "In Progress", "Complete"],
        "total_records": 6,
        "errors": [
            *({**ERROR, "Line": str(n)} for n in (2, 3, 4)),
            {**ERROR, "Line": "5", "EventCode": "install", "Uri": "/x/ErrorDetails/4"},
        ],
    },
    {
        "batch_id": "F-3",
        "file_name": "c.csv",
        "submitted": "2026-11-27T05:03:00Z",
        "errors": [{**ERROR, "Line": "2"}],
        "errors_status": 403,
    },
    {"batch_id": "F-late", "file_name": "a.csv", "submitted": "2026-11-29T05:00:01Z"},
]


@dataclass
class Api:
    """One implementation of impact.com's API, served on 127.0.0.1."""

    url: str
    add: Callable[..., None]  # one file, from FakeFile's (and StandInFile's) fields
    fail: Callable[[int, str | None], None]
    requests: list[str]

    def client(self, token: str = TOKEN, delays: list[float] | None = None) -> ImpactClient:
        sleep = delays.append if delays is not None else (lambda _: None)
        retry = RetryPolicy(sleep=sleep)
        return ImpactClient(Credentials(SID, token), self.url, page_size=2, retry=retry)


@pytest.fixture
def both(httpserver: HTTPServer) -> Iterator[tuple[Api, Api]]:
    """The product's stand-in as the demo serves it, and the tests' model."""
    product = standin.StandIn(SID, TOKEN)
    model = FakeImpact(httpserver)
    with standin.serve(product) as url:
        yield (
            Api(
                url,
                lambda **f: product.add(standin.StandInFile(**f)),
                product.fail,
                product.requests,
            ),
            Api(model.base_url, lambda **f: model.add(FakeFile(**f)), model.fail, model.requests),
        )


def outcome(call: Callable[[], object]) -> object:
    """What a call returns, or the HTTP status it fails with (each server words its message)."""
    try:
        return call()
    except ImpactApiError as exc:
        return ("ImpactApiError", exc.status)


def scenario(api: Api) -> dict[str, Any]:
    for fields in FILES:
        api.add(**fields)
    with api.client() as client:
        listings = [client.list_submissions(START, END) for _ in range(3)]
        return {
            "listings": listings,
            "errors": client.error_details("F-2"),
            "refused": outcome(lambda: client.error_details("F-3")),
            "unknown": outcome(lambda: client.error_details("F-none")),
            "requests": len(api.requests),
        }


def test_files_pages_statuses_and_errors_agree(both: tuple[Api, Api]) -> None:
    product, model = both
    got = scenario(product)
    assert got == scenario(model)
    # ... and the scenario did what it says: files of the window over two pages, F-2 advancing
    # to Complete, its four errors over two pages, the two refusals
    assert [[(f.batch_id, f.status) for f in listing] for listing in got["listings"]] == [
        [("F-1", "Complete"), ("F-2", "Queued"), ("F-3", "Complete")],
        [("F-1", "Complete"), ("F-2", "In Progress"), ("F-3", "Complete")],
        [("F-1", "Complete"), ("F-2", "Complete"), ("F-3", "Complete")],
    ]
    assert got["listings"][2][1].total_errors == 1 + 3
    assert got["listings"][2][1].submitted_at == dt.datetime(2026, 11, 27, 5, 2, tzinfo=dt.UTC)
    assert [(e.line, e.event_code) for e in got["errors"]] == [
        (2, ""),
        (3, ""),
        (4, ""),
        (5, "install"),
    ]
    assert (got["refused"], got["unknown"]) == (("ImpactApiError", 403), ("ImpactApiError", 404))
    assert got["requests"] == 3 * 2 + 2 + 1 + 1


def test_a_wrong_token_is_refused_alike(both: tuple[Api, Api]) -> None:
    def refused(api: Api) -> object:
        api.add(**FILES[1])
        with api.client(token="wrong") as client:
            return outcome(lambda: client.list_submissions(START)), len(api.requests)

    product, model = both
    got = refused(product)
    assert got == refused(model)
    assert got == (("ImpactApiError", 401), 1)


def test_a_429_is_waited_out_as_retry_after_says_alike(both: tuple[Api, Api]) -> None:
    def busy(api: Api) -> object:
        api.add(**FILES[1])
        api.fail(429, "3")
        delays: list[float] = []
        with api.client(delays=delays) as client:
            return client.list_submissions(START), delays

    product, model = both
    got = busy(product)
    assert got == busy(model)
    assert [f.batch_id for f in got[0]] == ["F-1"] and got[1] == [3.0]  # type: ignore[index]


def test_pages_are_the_same_json_and_json_must_be_asked_for(both: tuple[Api, Api]) -> None:
    """What the client smooths over (numbers as strings, the paging fields) is equal too."""
    listing = f"/Advertisers/{SID}/FTPFileSubmissions"
    query = {"SubmissionDateStart": "2026-11-27T05:00:00Z", "PageSize": "2"}

    def raw(api: Api, path: str, query: dict[str, str], accept: str) -> tuple[int, Any]:
        headers = {"Accept": accept}
        reply = httpx.get(api.url + path, params=query, auth=(SID, TOKEN), headers=headers)
        return reply.status_code, reply.json() if reply.status_code == 200 else None

    def pages(api: Api) -> list[tuple[int, Any]]:
        for fields in FILES:
            api.add(**fields)
        return [
            raw(api, listing, query, "application/json"),
            raw(api, f"{listing}/F-2/ErrorDetails", {"PageSize": "4"}, "application/json"),
            raw(api, listing, query, "application/xml"),
            raw(api, listing, {}, "application/json"),  # the dates are filters, not required
        ]

    product, model = both
    got = pages(product)
    assert got == pages(model)
    (_, files), (_, errors), refused, (_, unfiltered) = got
    assert files["@numpages"] == "2" and files["@nextpageuri"].endswith("PageSize=2&Page=2")
    assert [f["TotalRecords"] for f in files["FTPFileSubmissions"]] == ["2", "6"]
    assert errors["@total"] == "4" and len(errors["ErrorDetail"]) == 4
    assert errors["@nextpageuri"] == ""  # the last page
    assert refused == (406, None)
    assert unfiltered["@total"] == str(len(FILES))
