"""The product's impact.com stand-in (retrobatch.impact_standin) behind pytest-httpserver.

The answers are the stand-in's own, so the demo and the tests speak one API; this adapter only
turns werkzeug requests into `StandIn.respond` calls and replies into responses.
"""

from __future__ import annotations

import re

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from retrobatch.reconcile.standin import StandIn, StandInFile

SID = "IRtestAccountSID"
TOKEN = "s3cret-Token-never-printed"
FakeFile = StandInFile


class FakeImpact(StandIn):
    """One account's file submissions, served on pytest-httpserver's loopback port."""

    def __init__(self, server: HTTPServer) -> None:
        super().__init__(SID, TOKEN)
        self.base_url = server.url_for("/").rstrip("/")
        server.expect_request(re.compile(r"^/.*")).respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        target = request.full_path.removesuffix("?")
        reply = self.respond(target, dict(request.headers.items()))
        return Response(reply.body, reply.status, dict(reply.headers))
