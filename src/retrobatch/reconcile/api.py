"""impact.com's FTPFileSubmissions API: the only way to learn what happened to an e-mailed file.

Shapes are described in docs/impact-errors.md ("What reconcile reads"). The credentials come only
from the environment and never appear in output, exception text or a repr; even the AccountSID
is left out of messages, since it sits in every URL path.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from retrobatch.errors import OperationFailed, UsageError
from retrobatch.hosts import is_loopback
from retrobatch.redaction import Redactor, secret_forms

ENV_ACCOUNT_SID = "IMPACT_ACCOUNT_SID"
ENV_AUTH_TOKEN = "IMPACT_AUTH_TOKEN"
ENV_API = "RETROBATCH_IMPACT_API"
DEFAULT_API = "https://api.impact.com"
SUBMISSIONS_KEY = "FTPFileSubmissions"
ERRORS_KEY = "ErrorDetail"  # the v14 API reference's name of the error list
MAX_PAGES = 1000

_REFUSALS = {
    401: "check IMPACT_ACCOUNT_SID and IMPACT_AUTH_TOKEN",
    403: "the credentials lack access to file submissions",
    404: "no such resource for this account",
}


class ImpactApiError(OperationFailed):
    """A fetch that failed (exit 1); `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Credentials:
    account_sid: str
    auth_token: str = field(repr=False)

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"


def credentials_from_env(environ: Mapping[str, str]) -> Credentials:
    """Credentials, or the one-line UsageError (exit 2) that says which variables to set."""
    missing = [n for n in (ENV_ACCOUNT_SID, ENV_AUTH_TOKEN) if not environ.get(n, "").strip()]
    if missing:
        raise UsageError(
            f"no impact.com API credentials: set {' and '.join(missing)} "
            f"(both {ENV_ACCOUNT_SID} and {ENV_AUTH_TOKEN} are needed)"
        )
    return Credentials(environ[ENV_ACCOUNT_SID].strip(), environ[ENV_AUTH_TOKEN].strip())


def api_base_from_env(environ: Mapping[str, str]) -> str:
    """The base URL, refused up front (exit 2) when unusable rather than retried for minutes."""
    base = environ.get(ENV_API, "").strip() or DEFAULT_API
    parts = urlsplit(base)
    if parts.username or parts.password:
        raise UsageError(f"{ENV_API}: put no credentials in the URL; set {ENV_AUTH_TOKEN}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{ENV_API}: {base!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise UsageError(
            f"{ENV_API}: {base!r} would carry {ENV_AUTH_TOKEN} unencrypted: use https "
            "(plain http is for a stand-in on this machine: 127.0.0.1, ::1 or localhost)"
        )
    return base


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries for 429, 5xx and transport failures; `sleep` is injectable for tests."""

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, retry_after: float | None) -> float:
        wanted = retry_after if retry_after is not None else self.base_delay * 2 ** (attempt - 1)
        return max(0.0, min(wanted, self.max_delay))


@dataclass(frozen=True)
class FileSubmission:
    batch_id: str
    file_name: str
    status: str
    submission_date: str
    submitted_at: dt.datetime | None
    type: str | None = None
    total_records: int | None = None
    total_errors: int | None = None
    completion_date: str | None = None


@dataclass(frozen=True)
class ErrorDetail:
    line: int | None
    order_id: str
    sku: str
    status: str
    reason: str
    event_code: str = ""  # mobile app actions
    uri: str = ""


def to_int(value: Any) -> int | None:
    """impact.com sends numbers as numbers or as strings (`"TotalRecords": "1"`)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def parse_api_time(text: str) -> dt.datetime | None:
    """An API date-time in UTC; one without an offset is read as UTC."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def api_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _submission(item: Mapping[str, Any]) -> FileSubmission:
    date = _text(item.get("SubmissionDate"))
    return FileSubmission(
        batch_id=_text(item.get("BatchId")),
        file_name=_text(item.get("FileName")),
        status=_text(item.get("Status")),
        submission_date=date,
        submitted_at=parse_api_time(date) if date else None,
        type=_text(item.get("Type")) or None,
        total_records=to_int(item.get("TotalRecords")),
        total_errors=to_int(item.get("TotalErrors")),
        completion_date=_text(item.get("CompletionDate")) or None,
    )


def _error(item: Mapping[str, Any]) -> ErrorDetail:
    return ErrorDetail(
        line=to_int(item.get("Line")),
        order_id=_text(item.get("OrderId")),
        sku=_text(item.get("Sku")),
        status=_text(item.get("Status")),
        reason=_text(item.get("Reason")),
        event_code=_text(item.get("EventCode")),
        uri=_text(item.get("Uri")),
    )


def list_key(page: Mapping[str, Any]) -> str | None:
    """`ErrorDetail`, as the v14 reference names the error list; else, for answers shaped
    otherwise (as older code expected), the first array-valued key not starting with `@`."""
    if isinstance(page.get(ERRORS_KEY), list):
        return ERRORS_KEY
    return next((k for k, v in page.items() if isinstance(v, list) and not k.startswith("@")), None)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (when - dt.datetime.now(dt.UTC)).total_seconds()


class ImpactClient:
    """One account's view of the API, over one pooled httpx client."""

    def __init__(
        self,
        credentials: Credentials,
        base_url: str = DEFAULT_API,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        page_size: int = 100,
    ) -> None:
        self._sid = credentials.account_sid
        self._redact = Redactor(secret_forms(credentials.auth_token, credentials.account_sid))
        self._retry = retry or RetryPolicy()
        self._page_size = page_size
        self._base = httpx.URL(base_url.rstrip("/") + "/")
        self._http = httpx.Client(
            base_url=self._base,
            auth=httpx.BasicAuth(credentials.account_sid, credentials.auth_token),
            headers={"Accept": "application/json", "User-Agent": "retrobatch"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"ImpactClient({self._base})"

    def __enter__(self) -> ImpactClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def list_submissions(
        self, start: dt.datetime, end: dt.datetime | None = None
    ) -> list[FileSubmission]:
        """Every file submitted from `start` (to `end`), all pages."""
        params = {"SubmissionDateStart": api_time(start)}
        if end is not None:
            params["SubmissionDateEnd"] = api_time(end)
        path = f"Advertisers/{self._sid}/FTPFileSubmissions"
        return [
            _submission(item)
            for page in self._pages(path, params)
            for item in page.get(SUBMISSIONS_KEY) or []
            if isinstance(item, Mapping)
        ]

    def error_details(self, batch_id: str) -> list[ErrorDetail]:
        """Every error impact.com reports for one file, all pages."""
        path = f"Advertisers/{self._sid}/FTPFileSubmissions/{batch_id}/ErrorDetails"
        found: list[ErrorDetail] = []
        for page in self._pages(path, {}):
            key = list_key(page)
            items = page[key] if key is not None else []
            found += [_error(item) for item in items if isinstance(item, Mapping)]
        return found

    def _pages(self, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Follow `@nextpageuri`, or `Page` up to `@numpages` when the URI is missing."""
        query: dict[str, str] | None = {**params, "Page": "1", "PageSize": str(self._page_size)}
        target = path
        seen: set[str] = set()
        for number in range(1, MAX_PAGES + 1):
            page = self._get(target, query)
            yield page
            next_uri = _text(page.get("@nextpageuri")).strip()
            if next_uri:
                target, query = self._same_origin(next_uri), None
                if target in seen:
                    raise ImpactApiError(f"{self._where(path)}: @nextpageuri repeats a page")
                seen.add(target)
                continue
            pages = to_int(page.get("@numpages"))
            if pages is None or number >= pages:
                return
            target = path
            query = {**params, "Page": str(number + 1), "PageSize": str(self._page_size)}
        raise ImpactApiError(f"{self._where(path)}: more than {MAX_PAGES} pages")

    def _same_origin(self, uri: str) -> str:
        """A next-page URI, refused when it points elsewhere: credentials go only to the base."""
        parts = urlsplit(uri)
        if parts.scheme or parts.netloc:
            if (parts.scheme, parts.netloc) != (self._base.scheme, self._base.netloc.decode()):
                raise ImpactApiError("impact.com API: @nextpageuri points to another host")
            uri = parts.path + (f"?{parts.query}" if parts.query else "")
        base_path = self._base.path.rstrip("/")
        if base_path and uri.startswith(base_path + "/"):
            uri = uri[len(base_path) :]
        return uri.lstrip("/")

    def _where(self, path: str) -> str:
        shown = path.replace(self._sid, "{AccountSID}").split("?")[0]
        return f"impact.com API GET /{shown}"

    def _get(self, target: str, query: dict[str, str] | None) -> dict[str, Any]:
        where = self._where(target)
        for attempt in range(1, self._retry.attempts + 1):
            last = attempt == self._retry.attempts
            try:
                response = self._http.get(target, params=query)
            except httpx.TransportError as exc:
                if last:
                    kind = type(exc).__name__
                    raise ImpactApiError(f"{where}: {kind} after {attempt} attempts") from None
                self._retry.sleep(self._retry.delay(attempt, None))
                continue
            status = response.status_code
            said = _said(response, self._redact) if status != 200 else ""
            if status == 429 or status >= 500:
                if last:
                    raise ImpactApiError(
                        f"{where}: HTTP {status}{said} after {attempt} attempts",
                        status,
                    )
                self._retry.sleep(self._retry.delay(attempt, _retry_after(response)))
                continue
            if status in _REFUSALS:
                raise ImpactApiError(
                    f"{where}: HTTP {status}{said}: {_REFUSALS[status]}",
                    status,
                )
            if status != 200:
                raise ImpactApiError(f"{where}: HTTP {status}{said}", status)
            try:
                data = response.json()
            except (ValueError, RecursionError):  # RecursionError: nested past Python's limit
                raise ImpactApiError(f"{where}: the answer is not JSON", status) from None
            if not isinstance(data, dict):
                raise ImpactApiError(f"{where}: the answer is not a JSON object", status)
            return data
        raise AssertionError("unreachable: the loop returns or raises")


MAX_SAID = 200  # characters of impact.com's message shown


def _said(response: httpx.Response, redact: Redactor) -> str:
    """impact.com's own `Message` field, printable and short, or nothing. Never the reason
    phrase, headers or body: a proxy or server echoing the request would show the token."""
    try:
        data = response.json()
    except (ValueError, RecursionError):
        return ""
    message = data.get("Message") if isinstance(data, dict) else None
    if not isinstance(message, str):
        return ""
    text = " ".join(redact(message).split())
    text = "".join(c if c.isprintable() else " " for c in text)[:MAX_SAID]
    return f" ({text})" if text else ""
