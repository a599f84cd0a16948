import datetime as dt

import pytest
from pytest_httpserver import HTTPServer

from retrobatch.errors import OperationFailed, UsageError
from retrobatch.reconcile.api import (
    Credentials,
    ImpactApiError,
    ImpactClient,
    RetryPolicy,
    api_base_from_env,
    credentials_from_env,
    list_key,
)
from support.impact_fake import SID, TOKEN, FakeFile, FakeImpact

START = dt.datetime(2026, 11, 27, 5, 0, tzinfo=dt.UTC)


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeImpact:
    return FakeImpact(httpserver)


def client(fake: FakeImpact, token: str = TOKEN, delays: list[float] | None = None) -> ImpactClient:
    sleep = (delays.append) if delays is not None else (lambda _: None)
    return ImpactClient(
        Credentials(SID, token), fake.base_url, page_size=2, retry=RetryPolicy(sleep=sleep)
    )


def file(n: int, name: str = "other.csv", when: str = "2026-11-27T05:10:00Z") -> FakeFile:
    return FakeFile(f"F-{n:04d}", name, when)


def test_listing_follows_every_page_and_converts_numbers(fake: FakeImpact) -> None:
    fake.add(*(file(n) for n in range(5)))
    with client(fake) as api:
        found = api.list_submissions(START)
    assert [f.batch_id for f in found] == [f"F-{n:04d}" for n in range(5)]
    assert found[0].total_records == 2 and found[0].total_errors == 0
    assert found[0].submitted_at == dt.datetime(2026, 11, 27, 5, 10, tzinfo=dt.UTC)
    assert len(fake.requests) == 3


def test_submission_dates_with_offsets_are_read_in_utc(fake: FakeImpact) -> None:
    fake.add(file(1, when="2026-11-26T21:10:00-08:00"))
    with client(fake) as api:
        (found,) = api.list_submissions(START)
    assert found.submitted_at == dt.datetime(2026, 11, 27, 5, 10, tzinfo=dt.UTC)


def test_429_waits_as_retry_after_says_and_500_is_retried(fake: FakeImpact) -> None:
    fake.add(file(1))
    fake.fail(429, retry_after="7")
    fake.fail(500)
    delays: list[float] = []
    with client(fake, delays=delays) as api:
        found = api.list_submissions(START)
    assert [f.batch_id for f in found] == ["F-0001"]
    assert delays == [7.0, 2.0]  # Retry-After honoured, then backoff (second attempt)


def test_retries_are_bounded(fake: FakeImpact) -> None:
    for _ in range(10):
        fake.fail(503, retry_after="100000")
    delays: list[float] = []
    with client(fake, delays=delays) as api, pytest.raises(OperationFailed) as caught:
        api.list_submissions(START)
    assert "503" in str(caught.value) and "5 attempts" in str(caught.value)
    assert delays == [60.0] * 4


@pytest.mark.parametrize("status", [401, 403, 404])
def test_refusals_are_one_line_naming_the_status_without_credentials(
    fake: FakeImpact, status: int
) -> None:
    fake.fail(status)
    with client(fake) as api, pytest.raises(ImpactApiError) as caught:
        api.list_submissions(START)
    message = str(caught.value)
    assert f"HTTP {status}" in message and "\n" not in message
    assert caught.value.exit_code == 1 and caught.value.status == status
    assert TOKEN not in message and SID not in message
    assert len(fake.requests) == 1  # never retried


def test_a_wrong_token_is_refused_by_the_server(fake: FakeImpact) -> None:
    with client(fake, token="wrong") as api, pytest.raises(ImpactApiError, match="HTTP 401"):
        api.list_submissions(START)


@pytest.mark.parametrize("key", ["ErrorDetail", "ErrorDetailsList"])
def test_error_details_read_error_detail_or_else_the_first_list_key_on_every_page(
    fake: FakeImpact, key: str
) -> None:
    fake.errors_key = key
    errors = [
        {
            "Line": str(n),
            "OrderId": f"A-{n}",
            "Sku": "",
            "Status": "Validation",
            "Reason": "MALFORMED",
            "CampaignId": "1000",
        }
        for n in range(2, 7)
    ]
    fake.add(FakeFile("F-1", "x.csv", "2026-11-27T05:10:00Z", errors=errors))
    with client(fake) as api:
        found = api.error_details("F-1")
    assert [(e.line, e.order_id, e.reason) for e in found][:2] == [
        (2, "A-2", "MALFORMED"),
        (3, "A-3", "MALFORMED"),
    ]
    assert len(found) == 5


def test_error_details_keep_event_code_and_uri(fake: FakeImpact) -> None:
    # v14 reference (brand-api-reference, submissions/ftp-submissions): ErrorDetail items carry
    # EventCode and Uri next to Line, OrderId, Status and Reason.
    uri = "/Advertisers/SID/FTPFileSubmissions/F-1/ErrorDetails/1"
    error = {"Line": 2, "OrderId": "A-2", "Status": "Validation", "Reason": "NO_ITEM"}
    fake.add(
        FakeFile(
            "F-1",
            "x.csv",
            "2026-11-27T05:10:00Z",
            errors=[{**error, "EventCode": "install", "Uri": uri}],
        )
    )
    with client(fake) as api:
        [found] = api.error_details("F-1")
    assert (found.reason, found.event_code, found.uri) == ("NO_ITEM", "install", uri)


def test_list_key_prefers_error_detail() -> None:
    assert list_key({"@page": "1", "Other": [], "ErrorDetail": []}) == "ErrorDetail"


def test_list_key_skips_metadata_keys() -> None:
    assert list_key({"@page": "1", "@links": [], "Note": "x", "Errors": [], "More": []}) == "Errors"
    assert list_key({"@page": "1"}) is None


def test_a_next_page_on_another_host_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/Advertisers/IR1/FTPFileSubmissions").respond_with_json(
        {
            "@numpages": "2",
            "@nextpageuri": "https://elsewhere.example/steal",
            "FTPFileSubmissions": [],
        }
    )
    api = ImpactClient(Credentials("IR1", TOKEN), httpserver.url_for("/"))
    with pytest.raises(ImpactApiError, match="another host"):
        api.list_submissions(START)


def test_pages_without_next_uri_are_requested_by_number(httpserver: HTTPServer) -> None:
    for page in ("1", "2"):
        httpserver.expect_request(
            "/Advertisers/IR1/FTPFileSubmissions",
            query_string={
                "SubmissionDateStart": "2026-11-27T05:00:00Z",
                "Page": page,
                "PageSize": "100",
            },
        ).respond_with_json(
            {"@numpages": 2, "FTPFileSubmissions": [{"BatchId": f"F-{page}", "TotalErrors": 1}]}
        )
    with ImpactClient(Credentials("IR1", TOKEN), httpserver.url_for("/")) as api:
        found = api.list_submissions(START)
    assert [(f.batch_id, f.total_errors) for f in found] == [("F-1", 1), ("F-2", 1)]


def test_credentials_come_from_the_environment_and_stay_hidden() -> None:
    with pytest.raises(UsageError, match="IMPACT_AUTH_TOKEN") as caught:
        credentials_from_env({"IMPACT_ACCOUNT_SID": SID})
    assert caught.value.exit_code == 2
    creds = credentials_from_env({"IMPACT_ACCOUNT_SID": SID, "IMPACT_AUTH_TOKEN": TOKEN})
    assert TOKEN not in repr(creds) and SID not in repr(creds)
    assert TOKEN not in repr(ImpactClient(creds))


def test_the_base_url_is_checked_before_any_request() -> None:
    assert api_base_from_env({}) == "https://api.impact.com"
    assert (
        api_base_from_env({"RETROBATCH_IMPACT_API": "http://127.0.0.1:9"}) == "http://127.0.0.1:9"
    )
    for local in ("http://localhost:8080", "http://[::1]:9", "http://127.0.0.2"):
        assert api_base_from_env({"RETROBATCH_IMPACT_API": local}) == local
    with pytest.raises(UsageError, match="unencrypted: use https"):
        api_base_from_env({"RETROBATCH_IMPACT_API": "http://api.impact.com"})
    for bad in ("api.impact.com", "ftp://x", "https://sid:tok@api.impact.com", "ftp://sid:tok@x"):
        with pytest.raises(UsageError, match="RETROBATCH_IMPACT_API") as caught:
            api_base_from_env({"RETROBATCH_IMPACT_API": bad})
        assert "tok" not in str(caught.value)


@pytest.mark.parametrize("status", [200, 500])
def test_json_nested_past_pythons_limit_is_not_json(httpserver: HTTPServer, status: int) -> None:
    """A broken proxy or server, not a traceback: 200 says so; 500 is retried, then said."""
    nested = "[" * 200_000 + "]" * 200_000
    httpserver.expect_request(f"/Advertisers/{SID}/FTPFileSubmissions").respond_with_data(
        nested, status=status, content_type="application/json"
    )
    base = httpserver.url_for("/").rstrip("/")
    retry = RetryPolicy(attempts=2, sleep=lambda _: None)
    with (
        ImpactClient(Credentials(SID, TOKEN), base, retry=retry) as api,
        pytest.raises(ImpactApiError) as raised,
    ):
        api.list_submissions(START)
    expected = "the answer is not JSON" if status == 200 else "HTTP 500 after 2 attempts"
    assert str(raised.value).endswith(expected)
