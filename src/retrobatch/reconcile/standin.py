"""A stand-in for impact.com's FTPFileSubmissions API, for the demo.

It speaks the documented shapes (docs/README.md, reconcile): Basic auth, numbers as strings,
paging with `@nextpageuri`, statuses that advance over successive listings, the v14 error list
key `ErrorDetail`, and failures queued on demand (a 429 with Retry-After, a 500). The answers
are computed by `StandIn.respond`, a plain function of the request; `serve` puts it on
127.0.0.1 with the standard library's HTTP server. The tests keep their own model of the API
and check this stand-in against it (tests/unit/reconcile/test_standin.py).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from retrobatch.repository.receipts import parse_timestamp

PATHS = re.compile(
    r"^/Advertisers/(?P<sid>[^/]+)/FTPFileSubmissions(?:/(?P<batch>[^/]+)/ErrorDetails)?$"
)


@dataclass
class StandInFile:
    """One file as impact.com lists it; `statuses` is what successive listings say."""

    batch_id: str
    file_name: str
    submitted: str  # SubmissionDate as impact.com writes it (an offset, not always Z)
    statuses: list[str] = field(default_factory=lambda: ["Complete"])
    total_records: int = 2
    errors: list[dict[str, str]] = field(default_factory=list)
    errors_status: int = 200  # what ErrorDetails answers
    seen: int = 0
    completed: str = "2026-11-27T06:10:00-08:00"

    def as_listed(self, sid: str) -> dict[str, str]:
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
            "CompletionDate": self.completed if complete else "",
            "ErrorsUri": f"/Advertisers/{sid}/FTPFileSubmissions/{self.batch_id}/ErrorDetails",
            "Uri": f"/Advertisers/{sid}/FTPFileSubmissions/{self.batch_id}",
        }


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)


JSON = {"Content-Type": "application/json"}


class StandIn:
    """One account's file submissions; `failures` are served first, one per request."""

    def __init__(self, sid: str, token: str) -> None:
        self.sid = sid
        self._auth = "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()
        self.files: list[StandInFile] = []
        self.failures: list[Reply] = []
        self.requests: list[str] = []
        self.errors_key = "ErrorDetail"  # the v14 reference's name of the error list

    def add(self, *files: StandInFile) -> None:
        self.files += files

    def fail(self, status: int, retry_after: str | None = None) -> None:
        headers = {"Retry-After": retry_after} if retry_after else {}
        self.failures.append(Reply(status, json.dumps({"Message": "busy"}), headers))

    def respond(self, target: str, headers: Mapping[str, str]) -> Reply:
        """The answer to `GET target` (path and query) with these request headers."""
        self.requests.append(target)
        headers = {k.lower(): v for k, v in headers.items()}  # names are case-insensitive
        if headers.get("authorization") != self._auth:
            return Reply(401, '{"Message": "Unauthorized"}', JSON)
        if headers.get("accept") != "application/json":
            return Reply(406, "xml only")
        if self.failures:
            return self.failures.pop(0)
        parts = urlsplit(target)
        args = dict(parse_qsl(parts.query))
        route = PATHS.match(parts.path)
        if route is None or route["sid"] != self.sid:
            return Reply(404, '{"Message": "Not Found"}', JSON)
        if route["batch"]:
            found = [f for f in self.files if f.batch_id == route["batch"]]
            if not found or found[0].errors_status != 200:
                status = found[0].errors_status if found else 404
                return Reply(status, '{"Message": "refused"}', JSON)
            return self._page(parts.path, args, self.errors_key, found[0].errors)
        start = parse_timestamp(args.get("SubmissionDateStart", "0001-01-01T00:00:00Z"))
        end = parse_timestamp(args.get("SubmissionDateEnd", "9999-12-31T00:00:00Z"))
        listed = [f for f in self.files if start <= parse_timestamp(f.submitted) <= end]
        return self._page(parts.path, args, "FTPFileSubmissions", listed, listing=True)

    def _page(
        self, path: str, args: dict[str, str], key: str, items: list[Any], listing: bool = False
    ) -> Reply:
        number = int(args.get("Page", "1"))
        size = int(args.get("PageSize", "100"))
        pages = max(1, -(-len(items) // size))
        chosen = items[(number - 1) * size : number * size]
        if listing:
            chosen = [f.as_listed(self.sid) for f in chosen]
        query = {**args, "Page": str(number + 1)}
        body = {
            "@page": str(number),
            "@numpages": str(pages),
            "@pagesize": str(size),
            "@total": str(len(items)),
            "@nextpageuri": f"{path}?{urlencode(query)}" if number < pages else "",
            key: chosen,
        }
        return Reply(200, json.dumps(body), JSON)


@contextmanager
def serve(standin: StandIn) -> Iterator[str]:
    """The stand-in on 127.0.0.1 for as long as the block runs; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            reply = standin.respond(self.path, dict(self.headers.items()))
            data = reply.body.encode()
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the demo's output is the story, not an access log

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
