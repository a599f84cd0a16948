"""A private Postfix instance on 127.0.0.1, for the tests that send through a real relay.

Postfix is started with a configuration folder of its own (`postfix -c DIR`): its own queue,
port, STARTTLS certificate (from the tests' trustme CA), SASL login (a sasldb file) and
`message_size_limit`; mail for the test domains is delivered into a Maildir in the same
folder. The system's Postfix configuration is only read (for its master.cf), never changed.
It needs root (Postfix's master runs as root), `postfix` and `saslpasswd2` (Debian: postfix,
sasl2-bin, libsasl2-modules); without them the tests that use it are skipped.
"""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
import trustme

from support.ports import free_port
from support.runner_env import smtp_env

USER = "sender"
PASSWORD = "Relay-pa55word-never-shown"
REALM = "relay.test"
DOMAINS = ("inbound.example", "brand.example")


def missing() -> str | None:
    """Why a private Postfix cannot run here (None: it can)."""
    if os.name != "posix" or os.geteuid() != 0:
        return "Postfix's master must run as root"
    import pwd  # POSIX only

    for tool in ("postfix", "postconf", "saslpasswd2"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: postfix sasl2-bin libsasl2-modules)"
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        return "no postfix user"
    return None


@dataclass
class Relay:
    host: str
    port: int
    ca_file: Path
    folder: Path

    def env(self, **extra: str) -> dict[str, str]:
        return smtp_env(self.host, self.port, USER, PASSWORD, self.ca_file, **extra)

    def delivered(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        """The messages delivered so far, waiting until there are `count` of them (delivery
        follows the SMTP session by a moment), oldest first."""
        box = self.folder / "mail" / "box" / "new"
        deadline = time.monotonic() + timeout
        while True:
            files = (
                sorted(box.glob("*"), key=lambda p: p.stat().st_mtime_ns) if box.is_dir() else []
            )
            if len(files) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        return [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in files
        ]

    def log(self) -> str:
        path = self.folder / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def log_since(self, offset: int, until: str, timeout: float = 10.0) -> str:
        """The log written after `offset`, once it holds `until` (Postfix logs a moment late)."""
        deadline = time.monotonic() + timeout
        while until not in (text := self.log()[offset:]) and time.monotonic() < deadline:
            time.sleep(0.1)
        return text


@contextmanager
def relay(ca: trustme.CA, message_size_limit: int) -> Iterator[Relay]:
    """A running private Postfix; stopped and removed on the way out."""
    # Outside pytest's private temporary folders: Postfix's own user must reach the queue.
    folder = Path(tempfile.mkdtemp(prefix="retrobatch-postfix-", dir="/tmp"))
    folder.chmod(0o755)
    port = free_port()
    try:
        _configure(folder, ca, port, message_size_limit)
        started = subprocess.run(["postfix", "-c", str(folder), "start"], capture_output=True)
        if started.returncode != 0:  # the machine's Postfix, not retrobatch: nothing to test
            said = (started.stderr or started.stdout).decode(errors="replace").strip()
            pytest.skip(f"Postfix would not start here: {said or started.returncode}")
        try:
            _wait_for(port)
            yield Relay("127.0.0.1", port, folder / "ca.pem", folder)
        finally:
            subprocess.run(["postfix", "-c", str(folder), "stop"], capture_output=True)
            _wait_stopped(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _configure(folder: Path, ca: trustme.CA, port: int, size_limit: int) -> None:
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(
        str(folder / "server.pem")
    )
    for name in ("queue", "data", "mail", "sasl"):
        (folder / name).mkdir()
    import pwd  # POSIX only, as Postfix is

    for name in ("data", "mail"):  # written by Postfix's own user
        shutil.chown(folder / name, "postfix", "postfix")
    owner = pwd.getpwnam("postfix")
    (folder / "main.cf").write_text(
        f"""\
compatibility_level = 3.6
queue_directory = {folder}/queue
data_directory = {folder}/data
mail_owner = postfix
myhostname = {REALM}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
virtual_mailbox_domains = {", ".join(DOMAINS)}
virtual_mailbox_base = {folder}/mail
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:{owner.pw_uid}
virtual_gid_maps = static:{owner.pw_gid}
smtpd_tls_cert_file = {folder}/server.pem
smtpd_tls_key_file = {folder}/server.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = {folder}/sasl
smtpd_sasl_local_domain = {REALM}
smtpd_relay_restrictions = permit_sasl_authenticated, reject
message_size_limit = {size_limit}
maillog_file = {folder}/maillog
maillog_file_prefixes = {folder}
""",
        encoding="utf-8",
    )
    (folder / "master.cf").write_text(_master_cf(port), encoding="utf-8")
    (folder / "sasl" / "smtpd.conf").write_text(
        f"pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\n"
        f"sasldb_path: {folder}/sasldb2\n",
        encoding="utf-8",
    )
    subprocess.run(
        ["saslpasswd2", "-f", str(folder / "sasldb2"), "-p", "-c", "-u", REALM, USER],
        input=PASSWORD.encode(),
        check=True,
        capture_output=True,
    )
    (folder / "sasldb2").chmod(0o644)  # read by smtpd, which runs as postfix


def _master_cf(port: int) -> str:
    """The system's master.cf with no service chrooted (the queue is ours) and the SMTP
    listener on `port` of 127.0.0.1 only."""
    system = subprocess.run(
        ["postconf", "-h", "config_directory"], capture_output=True, text=True, check=True
    ).stdout.strip()
    lines: list[str] = []
    dropped = False  # the service being read was left out: so are its continuation lines
    for line in Path(system, "master.cf").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if line.startswith("#") or not fields:
            continue
        if line.startswith((" ", "\t")):
            if not dropped:
                lines.append(line)
            continue
        dropped = fields[1] == "inet" and fields[0] != "smtp"  # submission, smtps, ...
        if dropped:
            continue
        if fields[1] == "inet":
            fields[0] = f"127.0.0.1:{port}"
        fields[4] = "n"
        lines.append(" ".join(fields))
    return "\n".join(lines) + "\n"


def _wait_for(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _wait_stopped(folder: Path, timeout: float = 20.0) -> None:
    pid_file = folder / "queue" / "pid" / "master.pid"
    deadline = time.monotonic() + timeout
    while pid_file.exists() and time.monotonic() < deadline:
        try:
            os.kill(int(pid_file.read_text().strip()), 0)
        except (ValueError, ProcessLookupError, OSError):
            return
        time.sleep(0.1)
