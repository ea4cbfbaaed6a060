"""`xds serve` audit options (ITI-20): what goes together, defaults, and the clear refusals."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from xds_cli.settings import add_serve_options, serve_settings


def settings_from(*argv: str):
    parser = argparse.ArgumentParser()
    add_serve_options(parser)
    return serve_settings(parser.parse_args(list(argv)))


def test_audit_is_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDS_AUDIT_SYSLOG", raising=False)
    assert settings_from().audit_syslog is None


def test_a_tls_collector_uses_the_server_certificate_unless_told_otherwise() -> None:
    settings = settings_from(
        "--audit-syslog", "tls://audit.example.org",
        "--tls", "--tls-cert", "server.pem", "--tls-key", "server.key", "--tls-ca", "ca.pem",
    )  # fmt: skip
    assert settings.audit_trust == Path("ca.pem")
    assert settings.audit_client_certificate == (Path("server.pem"), Path("server.key"))


def test_own_audit_certificate_and_ca_win() -> None:
    settings = settings_from(
        "--audit-syslog", "tls://audit.example.org:6514",
        "--audit-ca", "audit-ca.pem", "--audit-cert", "node.pem", "--audit-key", "node.key",
    )  # fmt: skip
    assert settings.audit_trust == Path("audit-ca.pem")
    assert settings.audit_client_certificate == (Path("node.pem"), Path("node.key"))


def test_the_environment_configures_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDS_AUDIT_SYSLOG", "udp://127.0.0.1:5514")
    monkeypatch.setenv("XDS_AUDIT_SITE_ID", "1750712184")
    settings = settings_from()
    assert (settings.audit_syslog, settings.audit_site_id) == ("udp://127.0.0.1:5514", "1750712184")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--audit-syslog", "tcp://audit:514"], "scheme must be tls or udp"),
        (["--audit-syslog", "tls://audit:0", "--audit-ca", "ca.pem"], "bad port"),
        (["--audit-syslog", "tls://audit"], "needs --audit-ca or --tls-ca"),
        (
            ["--audit-syslog", "udp://audit", "--audit-cert", "node.pem"],
            "--audit-cert and --audit-key go together",
        ),
        (
            ["--audit-syslog", "udp://audit", "--role", "repository", "--registry-url", "http://r"],
            "needs the registry role",
        ),
    ],
)
def test_options_that_do_not_fit_are_refused_by_name(argv: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings_from(*argv)
