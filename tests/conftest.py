"""Real components for the runner's tests: an SMTP server on 127.0.0.1 (aiosmtpd, with STARTTLS
on a certificate made here and AUTH), and a bare git repository as origin with clones of it.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import git
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from support.ports import free_port
from support.runner_env import SETTINGS_YAML, SMTP_PASSWORD, SMTP_USER, Handler, Repos, SmtpServer


@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


@pytest.fixture
def smtp_server(
    request: pytest.FixtureRequest, tls_ca: tuple[trustme.CA, Path]
) -> Iterator[SmtpServer]:
    """STARTTLS required, AUTH required (after TLS), on a certificate only our CA vouches for.
    `@pytest.mark.smtp_server(data_size_limit=N)` passes settings on to aiosmtpd's server."""
    marker = request.node.get_closest_marker("smtp_server")
    settings = marker.kwargs if marker else {}
    ca, ca_file = tls_ca
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    handler = Handler()
    logins: list[str] = []

    def authenticator(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == SMTP_USER
            and auth_data.password.decode() == SMTP_PASSWORD
        )
        if ok:
            logins.append(SMTP_USER)
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        **settings,
    )
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", controller.port, handler, ca_file, logins)
    finally:
        if handler.hold is not None:
            handler.hold.release.set()  # a handler still holding would keep stop() waiting
        controller.stop()


def _configure(repo: git.Repo, name: str) -> None:
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", name)
        cfg.set_value("user", "email", f"{name.lower()}@brand.example")


@pytest.fixture
def repos(tmp_path: Path) -> Repos:
    origin = git.Repo.init(tmp_path / "origin.git", bare=True, initial_branch="main")
    work = git.Repo.clone_from(str(tmp_path / "origin.git"), tmp_path / "work")
    _configure(work, "Ana")
    root = Path(str(work.working_tree_dir))
    (root / "retrobatch.yaml").write_text(SETTINGS_YAML, encoding="utf-8")
    (root / "submissions").mkdir()
    (root / "submissions" / "README.md").write_text("batches\n", encoding="utf-8")
    work.index.add([str(root / "retrobatch.yaml"), str(root / "submissions" / "README.md")])
    work.index.commit("Start the submissions repository")
    work.git.branch("-M", "main")
    work.git.push("-u", "origin", "main")
    other = git.Repo.clone_from(str(tmp_path / "origin.git"), tmp_path / "other")
    _configure(other, "Bo")
    return Repos(origin, work, other)
