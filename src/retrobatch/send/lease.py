"""The lease a run holds on the receipts it is sending: who it is, where it runs, and until when
it may still be talking to the server, so a person's `resolve` never races a live run.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from collections.abc import Mapping

from retrobatch.errors import UsageError
from retrobatch.repository.receipts import Lease, now_utc, parse_timestamp, timestamp

DEFAULT_MINUTES = 60.0  # the submit workflow's timeout-minutes: GitHub stops the job by then
# A run starts no part once less than this is left of its lease (a part may take this long).
START_MARGIN = dt.timedelta(minutes=5)


def minutes_from_env(env: Mapping[str, str]) -> float:
    text = env.get("RETROBATCH_LEASE_MINUTES", "").strip()
    try:
        minutes = float(text) if text else DEFAULT_MINUTES
    except ValueError:
        minutes = -1.0
    if not 1 <= minutes <= 24 * 60:
        raise UsageError(f"RETROBATCH_LEASE_MINUTES={text!r}: expected minutes (1-1440)")
    return minutes


def take(env: Mapping[str, str], minutes: float, now: dt.datetime | None = None) -> Lease:
    """A new lease for this process: a GitHub run is named by its URL, else host and pid."""
    now = now or now_utc()
    expires = now + dt.timedelta(minutes=minutes)
    run_id = env.get("GITHUB_RUN_ID", "")
    server, repository = env.get("GITHUB_SERVER_URL", ""), env.get("GITHUB_REPOSITORY", "")
    if run_id and server and repository:
        attempt = env.get("GITHUB_RUN_ATTEMPT", "1")
        return Lease(
            id=f"github-{run_id}-{attempt}",
            started_at=timestamp(now),
            expires_at=timestamp(expires),
            where=f"{server}/{repository}/actions/runs/{run_id}",
        )
    host, pid = socket.gethostname(), os.getpid()
    return Lease(
        id=f"{host}-{pid}-{secrets.token_hex(3)}",
        started_at=timestamp(now),
        expires_at=timestamp(expires),
        where=f"{host}:{pid}",
        host=host,
        pid=pid,
    )


def may_start_part(lease: Lease, now: dt.datetime | None = None) -> bool:
    return (now or now_utc()) + START_MARGIN < parse_timestamp(lease.expires_at)


def still_held(lease: Lease | None, now: dt.datetime | None = None) -> str | None:
    """Why the run holding `lease` may still be sending, or None when it surely is not."""
    if lease is None or lease.ended_at:
        return None
    if (now or now_utc()) >= parse_timestamp(lease.expires_at):
        return None
    if lease.host == socket.gethostname() and lease.pid and not _alive(lease.pid):
        return None
    return (
        f"run {lease.id} ({lease.where}), started {lease.started_at}, may still be sending "
        f"until {lease.expires_at}"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
