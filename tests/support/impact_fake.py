"""impact.com's FTPFileSubmissions API as the tests model it, on pytest-httpserver.

Written from the project's description of the API (README, "Reconciling with impact.com";
docs/impact-errors.md, "What reconcile reads"), not from the product's own stand-in: the demo's
stand-in (retrobatch.reconcile.standin) is checked against this model in
tests/unit/reconcile/test_standin.py, so neither can drift without a test saying so.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

SID = "IRtestAccountSID"
TOKEN = "s3cret-Token-never-printed"
ROUTE = re.compile(r"/Advertisers/([^/]+)/FTPFileSubmissions(?:/([^/]+)/ErrorDetails)?")


@dataclass
class FakeFile:
    """One submitted file; each listing that shows it says the next of `statuses`."""

    batch_id: str
    file_name: str
    submitted: str  # SubmissionDate as impact.com writes it, with its offset
    statuses: list[str] = field(default_factory=lambda: ["Complete"])
    total_records: int = 2
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_status: int = 200  # the HTTP status its ErrorDetails answers with
    completed: str = "2026-11-27T06:10:00-08:00"
    listings: int = 0

    def listed(self) -> dict[str, str]:
        """The file as the next listing shows it: every value a string, as impact.com sends."""
        status = self.statuses[min(self.listings, len(self.statuses) - 1)]
        self.listings += 1
        done = status == "Complete"
        uri = f"/Advertisers/{SID}/FTPFileSubmissions/{self.batch_id}"
        return {
            "BatchId": self.batch_id,
            "SubmissionDate": self.submitted,
            "FileName": self.file_name,
            "Type": "Conversion",
            "Status": status,
            "TotalRecords": str(self.total_records),
            "TotalErrors": str(len(self.errors) if done else 0),
            "CompletionDate": self.completed if done else "",
            "ErrorsUri": f"{uri}/ErrorDetails",
            "Uri": uri,
        }


def _json(status: int, body: dict[str, Any], **headers: str) -> Response:
    return Response(json.dumps(body), status, headers, content_type="application/json")


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


class FakeImpact:
    """The account `SID` (token `TOKEN`); `fail` queues answers given before any other."""

    def __init__(self, server: HTTPServer) -> None:
        self.base_url = server.url_for("/").rstrip("/")
        self.files: list[FakeFile] = []
        self.failures: list[Response] = []
        self.requests: list[str] = []  # path and query of every request, in order
        self.errors_key = "ErrorDetail"  # the error list's name in the v14 reference
        server.expect_request(re.compile("/.*")).respond_with_handler(self._answer)

    def add(self, *files: FakeFile) -> None:
        self.files += files

    def fail(self, status: int, retry_after: str | None = None) -> None:
        headers = {"Retry-After": retry_after} if retry_after else {}
        self.failures.append(_json(status, {"Message": f"failure {status}"}, **headers))

    def _answer(self, request: Request) -> Response:
        self.requests.append(request.full_path.removesuffix("?"))
        auth = request.authorization
        if auth is None or auth.type != "basic" or (auth.username, auth.password) != (SID, TOKEN):
            return _json(401, {"Message": "Unauthorized"}, **{"WWW-Authenticate": "Basic"})
        if request.headers.get("Accept") != "application/json":
            return Response("JSON only when asked for", 406)
        if self.failures:
            return self.failures.pop(0)
        route = ROUTE.fullmatch(request.path)
        if route is None or route[1] != SID:
            return _json(404, {"Message": "Not Found"})
        if route[2] is None:
            return self._page(request, "FTPFileSubmissions", self._submitted_in(request))
        file = next((f for f in self.files if f.batch_id == route[2]), None)
        if file is None or file.errors_status != 200:
            status = 404 if file is None else file.errors_status
            return _json(status, {"Message": "Refused"})
        return self._page(request, self.errors_key, file.errors)

    def _submitted_in(self, request: Request) -> list[FakeFile]:
        start, end = (request.args.get(f"SubmissionDate{k}") for k in ("Start", "End"))
        return [
            f
            for f in self.files
            if (start is None or _moment(start) <= _moment(f.submitted))
            and (end is None or _moment(f.submitted) <= _moment(end))
        ]

    def _page(self, request: Request, key: str, items: list[Any]) -> Response:
        """One page of `items` under `key`, with impact.com's paging fields (as strings)."""
        page, size = int(request.args.get("Page", 1)), int(request.args.get("PageSize", 100))
        pages = max(1, -(-len(items) // size))
        shown = items[(page - 1) * size : page * size]
        following = {**request.args.to_dict(), "Page": str(page + 1)}
        next_uri = f"{request.path}?{urlencode(following)}" if page < pages else ""
        return _json(
            200,
            {
                "@page": str(page),
                "@numpages": str(pages),
                "@pagesize": str(size),
                "@total": str(len(items)),
                "@nextpageuri": next_uri,
                key: [f.listed() if isinstance(f, FakeFile) else f for f in shown],
            },
        )
