import logging
import socket
import ssl
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller

from retrobatch.errors import UsageError
from retrobatch.send.mailer import Delivery, Mailer, SmtpConfig
from support.runner_env import SENDER, SMTP_PASSWORD, SMTP_USER, Handler, SmtpServer

RCPTS = ["a1b2c3@inbound.example", "finance@brand.example"]
DATA = b"From: x@brand.example\r\nSubject: \r\n\r\nbody\r\n"


def _mailer(server: SmtpServer, **env: str) -> tuple[Mailer, list[float]]:
    config = SmtpConfig.from_env(server.env(**env))
    assert config is not None
    slept: list[float] = []
    return Mailer(config, retry_delays=(0.01, 0.02), sleep=slept.append), slept


def test_starttls_auth_and_one_message_delivered(smtp_server: SmtpServer) -> None:
    delivery, _ = _deliver_once(smtp_server)
    assert delivery.outcome == "accepted"
    assert delivery.reply == "250 2.0.0 Ok: queued as Q1"
    (got,) = smtp_server.received
    assert got.mail_from == SENDER
    assert got.rcpt_tos == RCPTS
    assert got.content.replace(b"\r\n", b"\n") == DATA.replace(b"\r\n", b"\n")
    assert smtp_server.logins == [SMTP_USER]  # a user without @ is not turned into a gmail one


def test_an_untrusted_certificate_is_refused(smtp_server: SmtpServer) -> None:
    config = SmtpConfig.from_env(
        {k: v for k, v in smtp_server.env().items() if k != "RETROBATCH_SMTP_CAFILE"}
    )
    assert config is not None
    with Mailer(config, retry_delays=(0.01,), sleep=lambda _: None) as mailer:
        first = mailer.deliver(SENDER, RCPTS, DATA)
        second = mailer.deliver(SENDER, RCPTS, DATA)
    assert first.outcome == second.outcome == "refused"
    assert "certificate not trusted" in first.reply
    assert smtp_server.received == []


def test_a_login_on_a_connection_without_tls_says_to_use_starttls(smtp_server: SmtpServer) -> None:
    """Like Postfix with smtpd_tls_auth_only, the test server offers AUTH only after STARTTLS."""
    mailer, _ = _mailer(smtp_server, RETROBATCH_SMTP_SECURITY="none")
    with mailer:
        delivery = mailer.deliver(SENDER, RCPTS, DATA)
    assert delivery.outcome == "refused"
    assert "AUTH extension not supported" in delivery.reply
    assert "set RETROBATCH_SMTP_SECURITY=starttls" in delivery.reply
    assert smtp_server.received == [] and smtp_server.logins == []


def test_a_wrong_password_is_refused_and_never_shown(
    smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mailer, _ = _mailer(smtp_server, RETROBATCH_SMTP_PASSWORD="wrong-" + SMTP_PASSWORD)
    with mailer:
        delivery = mailer.deliver(SENDER, RCPTS, DATA)
    assert delivery.outcome == "refused"
    assert "login refused: 535" in delivery.reply
    assert SMTP_PASSWORD not in delivery.reply + caplog.text + repr(mailer.config)


def _deliver_once(server: SmtpServer) -> tuple[Delivery, list[float]]:
    mailer, slept = _mailer(server)
    with mailer:
        return mailer.deliver(SENDER, RCPTS, DATA), slept


def test_550_is_final_and_not_retried(smtp_server: SmtpServer) -> None:
    smtp_server.handler.decide = lambda content, n: "550 5.7.1 rejected by policy"
    delivery, slept = _deliver_once(smtp_server)
    assert (delivery.outcome, delivery.reply) == (
        "refused",
        "end of DATA: 550 5.7.1 rejected by policy",
    )
    assert smtp_server.handler.data_calls == 1
    assert slept == []


@pytest.mark.smtp_server(data_size_limit=2000)
def test_a_message_over_the_servers_size_is_refused_before_anything_is_sent(
    smtp_server: SmtpServer,
) -> None:
    """Like Postfix's message_size_limit: the server says SIZE 2000 in its EHLO reply."""
    mailer, slept = _mailer(smtp_server)
    big = DATA + b"x" * 3000 + b"\r\n"
    with mailer:
        refused = mailer.deliver(SENDER, RCPTS, big)
        fits = mailer.deliver(SENDER, RCPTS, DATA)  # the connection still carries the next
    assert refused.outcome == "refused"
    assert refused.reply == (
        f"the message is {len(big):,} bytes and 127.0.0.1 takes at most 2,000 (its SIZE): "
        "set max_email_bytes in retrobatch.yaml below that"
    )
    assert fits.outcome == "accepted"
    (got,) = smtp_server.received
    assert got.content.replace(b"\r\n", b"\n") == DATA.replace(b"\r\n", b"\n")
    assert slept == []


def test_the_size_is_declared_in_mail_from(smtp_server: SmtpServer) -> None:
    _deliver_once(smtp_server)
    (got,) = smtp_server.received
    assert got.mail_options == [f"SIZE={len(DATA)}"]


def test_451_is_retried_with_backoff_and_delivers_once(smtp_server: SmtpServer) -> None:
    smtp_server.handler.decide = lambda content, n: "451 4.3.0 try later" if n == 1 else "250"
    delivery, slept = _deliver_once(smtp_server)
    assert delivery.outcome == "accepted"
    assert delivery.attempts == 2
    assert slept == [0.01]
    assert len(smtp_server.received) == 1


def test_a_lasting_4xx_gives_up_after_the_bounded_retries(smtp_server: SmtpServer) -> None:
    smtp_server.handler.decide = lambda content, n: "452 4.3.1 out of space"
    delivery, slept = _deliver_once(smtp_server)
    assert delivery.outcome == "refused"
    assert delivery.attempts == 3
    assert slept == [0.01, 0.02]


def test_a_refused_recipient_stops_the_message_before_data(smtp_server: SmtpServer) -> None:
    smtp_server.handler.refuse_rcpt = {"finance@brand.example"}
    mailer, _ = _mailer(smtp_server)
    with mailer:
        delivery = mailer.deliver(SENDER, RCPTS, DATA)
        assert delivery.outcome == "refused"
        assert "RCPT TO:<finance@brand.example>: 550" in delivery.reply
        assert smtp_server.handler.data_calls == 0
        assert mailer.deliver(SENDER, RCPTS[:1], DATA).outcome == "accepted"  # same session


def test_a_drop_after_data_is_in_doubt_and_not_resent(smtp_server: SmtpServer) -> None:
    smtp_server.handler.decide = lambda content, n: "drop" if n == 1 else "250"
    mailer, slept = _mailer(smtp_server)
    with mailer:
        delivery = mailer.deliver(SENDER, RCPTS, DATA)
        assert delivery.outcome == "in-doubt"
        assert "during or after DATA" in delivery.reply
        assert len(smtp_server.received) == 1
        assert slept == []
        assert mailer.deliver(SENDER, RCPTS, DATA).outcome == "accepted"  # reconnects
    assert smtp_server.handler.data_calls == 2


def test_an_unreachable_server_fails_after_retries() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = SmtpConfig("127.0.0.1", port, "none", timeout=2)
    slept: list[float] = []
    with Mailer(config, retry_delays=(0.01,), sleep=slept.append) as mailer:
        delivery = mailer.deliver(SENDER, RCPTS, DATA)
        assert (delivery.outcome, delivery.attempts) == ("refused", 2)
        assert "cannot connect" in delivery.reply
        assert mailer.deliver(SENDER, RCPTS, DATA) == Delivery("refused", delivery.reply)
    assert slept == [0.01]  # the next message does not wait for the same server again


def test_config_from_env(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n", encoding="utf-8")
    assert SmtpConfig.from_env({}) is None
    assert SmtpConfig.from_env({"RETROBATCH_SMTP_HOST": "mx"}) == SmtpConfig("mx", 587)
    ssl_config = SmtpConfig.from_env(
        {"RETROBATCH_SMTP_HOST": "mx", "RETROBATCH_SMTP_SECURITY": "SSL"}
    )
    assert ssl_config is not None and (ssl_config.port, ssl_config.security) == (465, "ssl")
    plain = SmtpConfig.from_env({"RETROBATCH_SMTP_HOST": "mx", "RETROBATCH_SMTP_SECURITY": "none"})
    assert plain is not None and plain.port == 25
    for bad in (
        {"RETROBATCH_SMTP_SECURITY": "tls"},
        {"RETROBATCH_SMTP_PORT": "smtp"},
        {"RETROBATCH_SMTP_USER": "apikey"},
        {"RETROBATCH_SMTP_CAFILE": str(tmp_path / "missing.pem")},
        {"RETROBATCH_SMTP_CAFILE": str(not_pem)},
    ):
        with pytest.raises(UsageError):
            SmtpConfig.from_env({"RETROBATCH_SMTP_HOST": "mx", **bad})


def test_a_login_without_tls_is_refused_unless_to_this_machine() -> None:
    login = {"RETROBATCH_SMTP_USER": "u", "RETROBATCH_SMTP_PASSWORD": SMTP_PASSWORD}
    plain = {"RETROBATCH_SMTP_SECURITY": "none", **login}
    with pytest.raises(UsageError, match="unencrypted: use starttls or ssl") as caught:
        SmtpConfig.from_env({"RETROBATCH_SMTP_HOST": "mx.example", **plain})
    assert SMTP_PASSWORD not in str(caught.value)
    for here in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.9"):
        config = SmtpConfig.from_env({"RETROBATCH_SMTP_HOST": here, **plain})
        assert config is not None and config.user == "u"
    relay = SmtpConfig.from_env({"RETROBATCH_SMTP_HOST": "mx.example", **login})  # starttls
    assert relay is not None and relay.security == "starttls"
    assert SmtpConfig.from_env(
        {"RETROBATCH_SMTP_HOST": "mx.example", "RETROBATCH_SMTP_SECURITY": "none"}
    )


def test_the_password_is_not_in_the_config_repr() -> None:
    config = SmtpConfig("mx", 587, user="u", password=SMTP_PASSWORD)
    assert SMTP_PASSWORD not in repr(config)


def test_ssl_security_without_login(tls_ca: tuple[trustme.CA, Path]) -> None:
    """Implicit TLS (port 465 style) verified against the CA file; no user means no login."""
    ca, ca_file = tls_ca
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    handler = Handler()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    try:
        env = {
            "RETROBATCH_SMTP_HOST": "127.0.0.1",
            "RETROBATCH_SMTP_PORT": str(port),
            "RETROBATCH_SMTP_SECURITY": "ssl",
            "RETROBATCH_SMTP_CAFILE": str(ca_file),
        }
        config = SmtpConfig.from_env(env)
        assert config is not None and config.user is None
        with Mailer(config, retry_delays=()) as mailer:
            assert mailer.deliver(SENDER, RCPTS, DATA).outcome == "accepted"
        untrusted = SmtpConfig.from_env({**env, "RETROBATCH_SMTP_CAFILE": ""})
        assert untrusted is not None
        with Mailer(untrusted, retry_delays=()) as mailer:
            refused = mailer.deliver(SENDER, RCPTS, DATA)
        assert (refused.outcome, "certificate not trusted" in refused.reply) == ("refused", True)
    finally:
        controller.stop()
    assert len(handler.received) == 1


def _silent_server() -> tuple[socket.socket, int]:
    """Accepts TCP and never says a word (a firewall, or TLS expected first)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    return listener, listener.getsockname()[1]


def test_a_server_that_never_greets_times_out_as_configured_and_each_retry_is_said() -> None:
    listener, port = _silent_server()
    said: list[str] = []
    env = {
        "RETROBATCH_SMTP_HOST": "127.0.0.1",
        "RETROBATCH_SMTP_PORT": str(port),
        "RETROBATCH_SMTP_SECURITY": "none",
        "RETROBATCH_SMTP_TIMEOUT": "0.5",
    }
    config = SmtpConfig.from_env(env)
    assert config is not None and config.timeout == 0.5
    with (
        listener,
        Mailer(config, retry_delays=(20.0,), sleep=lambda _: None, notify=said.append) as m,
    ):
        delivery = m.deliver(SENDER, RCPTS, DATA, "2026-11-20-x x.csv")
    assert delivery.outcome == "refused"
    assert "timed out" in delivery.reply
    (line,) = said
    assert line.startswith(f"2026-11-20-x x.csv: 127.0.0.1:{port}: cannot connect: ")
    assert line.endswith("; retrying in 20 s")


def test_port_465_with_starttls_is_final_with_a_hint() -> None:
    listener, port = _silent_server()
    env = {"RETROBATCH_SMTP_HOST": "127.0.0.1", "RETROBATCH_SMTP_PORT": "465"}
    config = SmtpConfig.from_env({**env, "RETROBATCH_SMTP_TIMEOUT": "0.5"})
    assert config is not None
    assert "RETROBATCH_SMTP_SECURITY=ssl" in config.mismatch
    config = SmtpConfig(config.host, port, "starttls", timeout=0.5)
    assert config.mismatch == ""  # the hint is for the well-known ports only
    ssl_on_587 = SmtpConfig.from_env(
        {**env, "RETROBATCH_SMTP_PORT": "587", "RETROBATCH_SMTP_SECURITY": "ssl"}
    )
    assert ssl_on_587 is not None and "starttls" in ssl_on_587.mismatch

    class On465(SmtpConfig):  # port 465 cannot be bound here: the silent server stands in
        @property
        def mismatch(self) -> str:
            return "port 465 is SMTPS (TLS from the start): set RETROBATCH_SMTP_SECURITY=ssl"

    said: list[str] = []
    silent = On465("127.0.0.1", port, "starttls", timeout=0.5)
    with (
        listener,
        Mailer(silent, retry_delays=(5.0,), sleep=lambda _: None, notify=said.append) as m,
    ):
        delivery = m.deliver(SENDER, RCPTS, DATA)
    assert delivery.outcome == "refused"
    assert delivery.reply.endswith("set RETROBATCH_SMTP_SECURITY=ssl")
    assert said == []  # final: no retry would change it


def test_ssl_against_a_plain_server_is_a_final_tls_error_with_a_hint(
    smtp_server: SmtpServer,
) -> None:
    said: list[str] = []
    config = SmtpConfig.from_env(smtp_server.env(RETROBATCH_SMTP_SECURITY="ssl"))
    assert config is not None
    with Mailer(config, retry_delays=(5.0, 20.0), sleep=lambda _: None, notify=said.append) as m:
        delivery = m.deliver(SENDER, RCPTS, DATA)
    assert delivery.outcome == "refused"
    assert "TLS failed" in delivery.reply and "RETROBATCH_SMTP_SECURITY" in delivery.reply
    assert said == []  # not retried
    assert smtp_server.received == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RETROBATCH_SMTP_PASSWORD", "pässword"),
        ("RETROBATCH_SMTP_USER", "ap\u00efkey"),
        ("RETROBATCH_SMTP_PASSWORD", "secret\r\n"),
    ],
)
def test_a_login_smtp_cannot_send_is_refused_at_once(name: str, value: str) -> None:
    env = {
        "RETROBATCH_SMTP_HOST": "127.0.0.1",
        "RETROBATCH_SMTP_USER": "u",
        "RETROBATCH_SMTP_PASSWORD": "p",
        name: value,
    }
    with pytest.raises(UsageError, match=name) as caught:
        SmtpConfig.from_env(env)
    assert value.strip() not in str(caught.value)


def test_a_bad_timeout_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="RETROBATCH_SMTP_TIMEOUT"):
        SmtpConfig.from_env({"RETROBATCH_SMTP_HOST": "h", "RETROBATCH_SMTP_TIMEOUT": "soon"})
