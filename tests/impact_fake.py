"""A stand-in for impact.com's FTPFileSubmissions API, served by pytest-httpserver on 127.0.0.1.

It speaks the documented shapes (docs/impact-errors.md, "What reconcile reads"): Basic auth,
numbers as strings, paging with `@nextpageuri`, statuses that advance over successive calls, and
failures queued on demand (a 429 with Retry-After, a 500).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from retrobatch.receipts import parse_timestamp

SID = "IRtestAccountSID"
TOKEN = "s3cret-Token-never-printed"
PATHS = re.compile(
    r"^/Advertisers/(?P<sid>[^/]+)/FTPFileSubmissions(?:/(?P<batch>[^/]+)/ErrorDetails)?$"
)


@dataclass
class FakeFile:
    batch_id: str
    file_name: str
    submitted: str  # SubmissionDate as impact.com writes it (an offset, not always Z)
    statuses: list[str] = field(default_factory=lambda: ["Complete"])  # one per listing
    total_records: int = 2
    errors: list[dict[str, str]] = field(default_factory=list)
    errors_status: int = 200  # what ErrorDetails answers
    seen: int = 0

    def as_listed(self) -> dict[str, str]:
        status = self.statuses[min(self.seen, len(self.statuses) - 1)]
        self.seen += 1
        complete = status == "Complete"
        return {
            "BatchId": self.batch_id,
            "SubmissionDate": self.submitted,
            "FileName": self.file_name,
            "Type": "Conversion",
            "Status": status,
            "TotalRecords": str(self.total_records),
            "TotalErrors": str(len(self.errors)) if complete else "0",
            "CompletionDate": "2026-11-27T06:10:00-08:00" if complete else "",
            "ErrorsUri": f"/Advertisers/{SID}/FTPFileSubmissions/{self.batch_id}/ErrorDetails",
            "Uri": f"/Advertisers/{SID}/FTPFileSubmissions/{self.batch_id}",
        }


class FakeImpact:
    """One account's file submissions; `failures` are served first, one per request."""

    def __init__(self, server: HTTPServer) -> None:
        self.files: list[FakeFile] = []
        self.failures: list[Response] = []
        self.requests: list[str] = []
        self.errors_key = "ErrorDetail"  # the v14 reference's name of the error list
        self.base_url = server.url_for("/").rstrip("/")
        server.expect_request(re.compile(r"^/.*")).respond_with_handler(self.handle)

    def add(self, *files: FakeFile) -> None:
        self.files += files

    def fail(self, status: int, retry_after: str | None = None) -> None:
        headers = {"Retry-After": retry_after} if retry_after else {}
        self.failures.append(Response(json.dumps({"Message": "busy"}), status, headers))

    def handle(self, request: Request) -> Response:
        self.requests.append(request.full_path)
        if request.headers.get("Authorization") != _basic(SID, TOKEN):
            return Response('{"Message": "Unauthorized"}', 401, content_type="application/json")
        if request.headers.get("Accept") != "application/json":
            return Response("xml only", 406)
        if self.failures:
            return self.failures.pop(0)
        route = PATHS.match(request.path)
        if route is None or route["sid"] != SID:
            return Response('{"Message": "Not Found"}', 404)
        if route["batch"]:
            found = [f for f in self.files if f.batch_id == route["batch"]]
            if not found or found[0].errors_status != 200:
                status = found[0].errors_status if found else 404
                return Response('{"Message": "refused"}', status)
            return self._page(request, self.errors_key, found[0].errors)
        start = parse_timestamp(request.args["SubmissionDateStart"])
        end = parse_timestamp(request.args.get("SubmissionDateEnd", "9999-12-31T00:00:00Z"))
        listed = [f for f in self.files if start <= parse_timestamp(f.submitted) <= end]
        return self._page(request, "FTPFileSubmissions", listed, listing=True)

    def _page(
        self, request: Request, key: str, items: list[Any], listing: bool = False
    ) -> Response:
        number = int(request.args.get("Page", "1"))
        size = int(request.args.get("PageSize", "100"))
        pages = max(1, -(-len(items) // size))
        chosen = items[(number - 1) * size : number * size]
        if listing:
            chosen = [f.as_listed() for f in chosen]
        query = {**request.args.to_dict(), "Page": str(number + 1)}
        body = {
            "@page": str(number),
            "@numpages": str(pages),
            "@pagesize": str(size),
            "@total": str(len(items)),
            "@nextpageuri": f"{request.path}?{urlencode(query)}" if number < pages else "",
            key: chosen,
        }
        return Response(json.dumps(body), 200, content_type="application/json")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
