"""The SMTP session, through yagmail for connection, TLS and login, and smtplib for each message.

At most once depends on knowing how far a message got, so each one goes through the plain
`smtplib.SMTP` that `yag.login()` leaves in `yag.smtp`: MAIL, RCPT and DATA one by one. A refusal
before DATA means nothing was delivered; a connection lost during or after DATA means the server
may hold the message, so it is *in doubt* and never resent automatically. `yag.send()` is never
used: it would retry by itself after a drop (a second copy), reuse Message-IDs and drop the
attachment's Content-Disposition.

The password is a secret: it never leaves this module, not even inside an error message.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import yagmail

from retrobatch.errors import UsageError
from retrobatch.hosts import is_loopback
from retrobatch.redaction import Redactor, secret_forms

log = logging.getLogger(__name__)

Security = Literal["ssl", "starttls", "none"]
Outcome = Literal["accepted", "refused", "in-doubt"]

DEFAULT_PORTS: dict[str, int] = {"ssl": 465, "starttls": 587, "none": 25}
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (5.0, 20.0, 60.0)
DEFAULT_TIMEOUT = 60.0
HOW_TO_CONFIGURE = (
    "set RETROBATCH_SMTP_HOST (and as needed RETROBATCH_SMTP_PORT, "
    "RETROBATCH_SMTP_SECURITY=starttls|ssl|none, RETROBATCH_SMTP_USER, "
    "RETROBATCH_SMTP_PASSWORD, RETROBATCH_SMTP_CAFILE), or preview with --outbox DIR"
)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: Security = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: Path | None = None
    timeout: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpConfig | None:
        """The server from RETROBATCH_SMTP_*; None when no host is set."""
        host = env.get("RETROBATCH_SMTP_HOST", "").strip()
        if not host:
            return None
        security = env.get("RETROBATCH_SMTP_SECURITY", "").strip().lower() or "starttls"
        if security not in DEFAULT_PORTS:
            raise UsageError(
                f"RETROBATCH_SMTP_SECURITY={security!r}: expected starttls, ssl or none"
            )
        port_text = env.get("RETROBATCH_SMTP_PORT", "").strip()
        try:
            port = int(port_text) if port_text else DEFAULT_PORTS[security]
        except ValueError:
            raise UsageError(f"RETROBATCH_SMTP_PORT={port_text!r}: expected a number") from None
        if not 0 < port < 65536:
            raise UsageError(f"RETROBATCH_SMTP_PORT={port}: not a port number")
        user = env.get("RETROBATCH_SMTP_USER") or None
        password = env.get("RETROBATCH_SMTP_PASSWORD") or None
        if user and password is None:
            # yagmail would fall back to the keyring or a prompt: neither exists in a workflow.
            raise UsageError("RETROBATCH_SMTP_USER is set but RETROBATCH_SMTP_PASSWORD is not")
        if user and security == "none" and not is_loopback(host):
            raise UsageError(
                f"RETROBATCH_SMTP_SECURITY=none would send RETROBATCH_SMTP_PASSWORD to {host} "
                "unencrypted: use starttls or ssl (none with a login only to this machine)"
            )
        for name, value in (("RETROBATCH_SMTP_USER", user), ("RETROBATCH_SMTP_PASSWORD", password)):
            if value is not None and (not value.isascii() or "\r" in value or "\n" in value):
                # smtplib sends the login as ASCII: it would fail after the receipt is pushed.
                raise UsageError(
                    f"{name}: holds a line break or non-ASCII characters, which SMTP "
                    "AUTH cannot send"
                )
        timeout_text = env.get("RETROBATCH_SMTP_TIMEOUT", "").strip()
        try:
            timeout = float(timeout_text) if timeout_text else DEFAULT_TIMEOUT
        except ValueError:
            timeout = -1.0
        if not 0 < timeout <= 3600:
            raise UsageError(f"RETROBATCH_SMTP_TIMEOUT={timeout_text!r}: expected seconds (1-3600)")
        cafile_text = env.get("RETROBATCH_SMTP_CAFILE") or None
        cafile = Path(cafile_text) if cafile_text else None
        if cafile is not None:
            try:
                tls_context(cafile)
            except OSError as exc:  # missing, or not a PEM bundle (ssl.SSLError)
                why = exc.strerror or str(exc)
                raise UsageError(f"RETROBATCH_SMTP_CAFILE={cafile}: {why}") from None
        return cls(host, port, security, user, password, cafile, timeout)  # type: ignore[arg-type]

    @property
    def mismatch(self) -> str:
        """A hint when the port is the well-known one of the other TLS mode, else ''."""
        if self.port == 465 and self.security != "ssl":
            return "port 465 is SMTPS (TLS from the start): set RETROBATCH_SMTP_SECURITY=ssl"
        if self.port == 587 and self.security == "ssl":
            return "port 587 expects STARTTLS: set RETROBATCH_SMTP_SECURITY=starttls"
        return ""


@dataclass(frozen=True)
class Delivery:
    """What became of one message; `reply` is the server's answer or what went wrong."""

    outcome: Outcome
    reply: str
    attempts: int = 1


def tls_context(cafile: Path | None) -> ssl.SSLContext:
    """The system's trusted certificates plus a private CA: a certificate is always verified."""
    context = ssl.create_default_context()
    if cafile is not None:
        context.load_verify_locations(cafile=str(cafile))
    return context


class _Transient(Exception):
    """A refusal worth retrying (4xx, or the server unreachable) before DATA."""


class _Unreachable(_Transient):
    """No connection to the server: when retries run out, the next messages need not wait."""


class _Refused(Exception):
    """A refusal that retrying would not change (5xx, a certificate or login refused)."""


class _InDoubt(Exception):
    """The connection ended during or after DATA: the server may have the message."""


class Mailer:
    """One SMTP connection, opened on first use and again after a drop, for many messages."""

    def __init__(
        self,
        config: SmtpConfig,
        *,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        sleep: Callable[[float], None] = time.sleep,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.retry_delays = retry_delays
        self._notify = notify
        self._sleep = sleep
        self._yag: Any = None
        self._smtp: smtplib.SMTP | None = None
        self._unusable: str | None = None  # why no message can go: login or certificate refused
        self._redact = Redactor(secret_forms(config.password or "", config.user or ""))

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
        self._drop()

    def deliver(
        self, sender: str, recipients: list[str], data: bytes, label: str = "message"
    ) -> Delivery:
        """Send one message; transient refusals are retried with backoff, nothing else is.
        Each retry is announced (`notify`) as `<label>: <reply>; retrying in N s`."""
        attempt = 0
        while True:
            attempt += 1
            try:
                reply = self._attempt(sender, recipients, data)
            except _Transient as exc:
                if attempt > len(self.retry_delays):
                    if isinstance(exc, _Unreachable):
                        self._unusable = self.scrub(str(exc))
                    return Delivery("refused", self.scrub(str(exc)), attempt)
                delay = self.retry_delays[attempt - 1]
                line = f"{label}: {self.scrub(str(exc))}; retrying in {delay:g} s"
                log.info("%s", line)
                if self._notify is not None:
                    self._notify(line)
                self._sleep(delay)
                continue
            except _Refused as exc:
                return Delivery("refused", self.scrub(str(exc)), attempt)
            except _InDoubt as exc:
                return Delivery("in-doubt", self.scrub(str(exc)), attempt)
            return Delivery("accepted", self.scrub(reply), attempt)

    def scrub(self, text: str) -> str:
        """The secret removed in every form, then whitespace tidied (never the other way)."""
        return " ".join(self._redact(text).split())

    def _attempt(self, sender: str, recipients: list[str], data: bytes) -> str:
        smtp = self._connection()
        try:
            smtp.ehlo_or_helo_if_needed()
            code, reply = smtp.mail(sender, self._size_option(smtp, len(data)))
            if code != 250:
                self._reset()
                raise _classify(code, reply, f"MAIL FROM:<{sender}>")
            for rcpt in recipients:
                code, reply = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    self._reset()
                    raise _classify(code, reply, f"RCPT TO:<{rcpt}>")
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise _classify(exc.smtp_code, exc.smtp_error, "before DATA") from None
        except OSError as exc:  # smtplib's exceptions are OSErrors too: a drop before DATA
            self._drop()
            raise _Transient(f"connection lost before DATA: {_describe(exc)}") from None
        try:
            code, reply = smtp.data(data)
        except smtplib.SMTPDataError as exc:  # DATA itself refused: no content went out
            self._reset()
            raise _classify(exc.smtp_code, exc.smtp_error, "DATA") from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise _InDoubt(f"connection lost during or after DATA: {_describe(exc)}") from None
        if code != 250:
            self._reset()
            raise _classify(code, reply, "end of DATA")
        return _reply_text(code, reply)

    def _size_option(self, smtp: smtplib.SMTP, size: int) -> list[str]:
        """RFC 1870: declare the message's size, and refuse at once one larger than the server
        said it takes (Postfix's message_size_limit is 10,240,000 bytes by default), so that
        nothing is sent and the reply names the setting to change."""
        if not smtp.has_extn("size"):
            return []
        limit = smtp.esmtp_features.get("size", "")
        if limit.isascii() and limit.isdigit() and len(limit) < 19 and 0 < int(limit) < size:
            raise _Refused(
                f"the message is {size:,} bytes and {self.config.host} takes at most "
                f"{int(limit):,} (its SIZE): set max_email_bytes in retrobatch.yaml below that"
            )
        return [f"SIZE={size}"]

    def _connection(self) -> smtplib.SMTP:
        if self._unusable is not None:
            raise _Refused(self._unusable)
        if self._smtp is not None:
            return self._smtp
        config = self.config
        context = tls_context(config.cafile)
        options: dict[str, Any] = {
            "host": config.host,
            "port": config.port,
            "soft_email_validation": False,
            "timeout": config.timeout,
        }
        if config.security == "ssl":
            options.update(smtp_ssl=True, context=context)
        elif config.security == "starttls":
            options.update(smtp_ssl=False, smtp_starttls={"context": context})
        else:
            options.update(smtp_ssl=False, smtp_starttls=False)
        if config.user:
            # yagmail appends @gmail.com to a user without @ unless it comes as {user: alias}.
            user = config.user if "@" in config.user else {config.user: config.user}
            options.update(user=user, password=config.password)
        else:
            options.update(smtp_skip_login=True)
        where = f"{config.host}:{config.port}"
        yag = yagmail.SMTP(**options)
        try:
            yag.login()
        except ssl.SSLCertVerificationError as exc:
            self._unusable = f"{where}: certificate not trusted ({exc.verify_message})"
        except smtplib.SMTPAuthenticationError as exc:
            self._unusable = f"{where}: login refused: {_reply_text(exc.smtp_code, exc.smtp_error)}"
        except smtplib.SMTPNotSupportedError as exc:
            self._unusable = f"{where}: {_describe(exc)}"
            if config.user and config.security == "none":  # Postfix: smtpd_tls_auth_only
                self._unusable += (
                    "; many servers offer AUTH only after STARTTLS: set "
                    "RETROBATCH_SMTP_SECURITY=starttls (or unset RETROBATCH_SMTP_USER)"
                )
        except ssl.SSLError as exc:  # a protocol or version mismatch: retrying cannot help
            hint = config.mismatch or "check RETROBATCH_SMTP_SECURITY and the server's TLS versions"
            self._unusable = f"{where}: TLS failed ({exc.reason or _describe(exc)}): {hint}"
        except smtplib.SMTPResponseException as exc:
            _close_quietly(yag.smtp)
            raise _classify(exc.smtp_code, exc.smtp_error, f"{where}: connecting") from None
        except (smtplib.SMTPException, OSError) as exc:
            _close_quietly(getattr(yag, "smtp", None))
            if config.mismatch:  # waiting for a greeting that comes only after TLS, or the like
                self._unusable = f"{where}: cannot connect: {_describe(exc)}; {config.mismatch}"
            else:
                raise _Unreachable(f"{where}: cannot connect: {_describe(exc)}") from None
        if self._unusable is not None:
            _close_quietly(yag.smtp)
            self._unusable = self.scrub(self._unusable)
            raise _Refused(self._unusable)
        self._yag, self._smtp = yag, yag.smtp
        return yag.smtp  # type: ignore[no-any-return]

    def _reset(self) -> None:
        """Forget the refused envelope so the connection can carry the next message."""
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        _close_quietly(self._smtp)
        self._smtp = None
        if self._yag is not None:
            self._yag.is_closed = True  # closed here: keep yagmail's __del__ off it
        self._yag = None


def _classify(code: int, reply: bytes | str, step: str) -> Exception:
    text = f"{step}: {_reply_text(code, reply)}"
    return _Transient(text) if 400 <= code < 500 else _Refused(text)


def _reply_text(code: int, reply: bytes | str) -> str:
    """Not tidied here: whitespace is collapsed only after the secret is scrubbed."""
    message = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return f"{code} {message}"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _close_quietly(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        with contextlib.suppress(OSError):
            smtp.close()
