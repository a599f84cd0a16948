import datetime as dt
import os
import socket
import subprocess

import pytest

from retrobatch.errors import UsageError
from retrobatch.send import lease
from support import times

NOW = dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC)


def test_a_local_run_is_named_by_host_and_pid() -> None:
    held = lease.take({}, 60, NOW)
    assert (held.host, held.pid) == (socket.gethostname(), os.getpid())
    assert held.where == f"{held.host}:{held.pid}"
    assert (held.started_at, held.expires_at) == ("2026-11-29T03:00:00Z", "2026-11-29T04:00:00Z")


def test_a_github_run_is_named_by_its_url_and_attempt() -> None:
    env = {
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": "brand/subs",
        "GITHUB_RUN_ID": "7",
        "GITHUB_RUN_ATTEMPT": "2",
    }
    held = lease.take(env, 30, NOW)
    assert (held.id, held.where) == (
        "github-7-2",
        "https://github.example/brand/subs/actions/runs/7",
    )
    assert held.host is None and held.pid is None  # another machine cannot probe it


def test_who_may_still_be_sending() -> None:
    now = times.now()
    alive = lease.take({}, 60, now)  # this very process
    assert lease.still_held(alive, now) is not None
    assert lease.still_held(alive, now + dt.timedelta(minutes=61)) is None  # expired
    ended = lease.take({}, 60, now)
    ended.ended_at = times.utc_text(now)
    assert lease.still_held(ended, now) is None
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = lease.take({}, 60, now)
    dead.pid = gone.pid
    assert lease.still_held(dead, now) is None
    far = lease.take(
        {"GITHUB_SERVER_URL": "s", "GITHUB_REPOSITORY": "r", "GITHUB_RUN_ID": "1"}, 60, now
    )
    assert "s/r/actions/runs/1" in str(lease.still_held(far, now))


def test_no_part_starts_in_the_last_minutes_of_a_lease() -> None:
    held = lease.take({}, 60, NOW)
    assert lease.may_start_part(held, NOW + dt.timedelta(minutes=54))
    assert not lease.may_start_part(held, NOW + dt.timedelta(minutes=56))


@pytest.mark.parametrize("text", ["0", "soon", "100000"])
def test_a_bad_lease_length_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="RETROBATCH_LEASE_MINUTES"):
        lease.minutes_from_env({"RETROBATCH_LEASE_MINUTES": text})
    assert lease.minutes_from_env({}) == 60
