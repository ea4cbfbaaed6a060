"""The development PKI: a chain that verifies, structure ids read back, a CRL that revokes."""

from __future__ import annotations

import argparse
import ipaddress
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from pki import (
    CA,
    ChainError,
    Establishment,
    from_finess,
    from_siret,
    init_ca,
    is_revoked,
    issue_establishment,
    issue_server,
    load_ca,
    revoke,
    structure_id,
    verify_signing_chain,
)
from pki._files import read_cert, read_certs
from pki.cli import add_pki_commands

FINESS = "750712184"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pki")


@pytest.fixture(scope="module")
def ca(pki_dir: Path) -> CA:
    return init_ca(pki_dir)


@pytest.fixture(scope="module")
def hospital(ca: CA, pki_dir: Path) -> Establishment:
    return issue_establishment(ca, pki_dir, name="CH Test", finess=FINESS)


def test_establishment_certificates_chain_to_the_root(ca: CA, hospital: Establishment) -> None:
    root, intermediate = read_cert(ca.root_cert), read_cert(ca.intermediate_cert)
    for path in (hospital.tls_cert, hospital.sign_cert):
        chain = verify_signing_chain(
            read_cert(path), trusted=[root], intermediates=[intermediate], at=datetime.now(UTC)
        )
        assert [c.subject for c in chain[1:]] == [intermediate.subject, root.subject]


def test_chain_bundle_lists_intermediate_then_root(ca: CA) -> None:
    bundle = read_certs(ca.chain)
    assert [c.subject for c in bundle] == [
        read_cert(ca.intermediate_cert).subject,
        read_cert(ca.root_cert).subject,
    ]


def test_structure_id_read_back_from_both_certificates(hospital: Establishment) -> None:
    assert hospital.structure_id == "1" + FINESS
    assert structure_id(read_cert(hospital.tls_cert)) == "1" + FINESS
    assert structure_id(read_cert(hospital.sign_cert)) == "1" + FINESS


def test_tls_certificate_is_for_client_authentication(hospital: Establishment) -> None:
    usage = read_cert(hospital.tls_cert).extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usage.value


def test_establishment_by_ready_made_structure_id(ca: CA, pki_dir: Path) -> None:
    ident = from_siret("12345678901234")
    issued = issue_establishment(ca, pki_dir, name="Cabinet", structure_id=ident)
    assert structure_id(read_cert(issued.sign_cert)) == "312345678901234"


@pytest.mark.parametrize("finess", ["7507121", "75071218X", "2C0000000"])
def test_malformed_finess_refused(finess: str) -> None:
    with pytest.raises(ValueError, match="FINESS"):
        from_finess(finess)


def test_corsican_finess_accepted() -> None:
    assert from_finess("2A0000123") == "12A0000123"


def test_private_keys_are_owner_only(ca: CA, hospital: Establishment) -> None:
    for key in (ca.root_key, ca.intermediate_key, hospital.tls_key, hospital.sign_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_server_certificate_names_localhost_and_loopback(ca: CA, pki_dir: Path) -> None:
    server = issue_server(ca, pki_dir, ("localhost", "127.0.0.1"))
    cert, issuer = read_certs(server.cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert issuer.subject == read_cert(ca.intermediate_cert).subject
    assert stat.S_IMODE(server.key.stat().st_mode) == 0o600


def test_second_init_in_the_same_folder_refused(ca: CA, pki_dir: Path) -> None:
    with pytest.raises(FileExistsError):
        init_ca(pki_dir)
    assert load_ca(pki_dir) == ca


def test_crl_lists_a_revoked_certificate(tmp_path: Path) -> None:
    ca = init_ca(tmp_path)
    issued = issue_establishment(ca, tmp_path, name="Clinique", finess="130000001")
    kept = issue_establishment(ca, tmp_path, name="Autre", finess="130000002")
    crl_path = revoke(ca, issued.sign_cert)
    crl = x509.load_pem_x509_crl(crl_path.read_bytes())
    intermediate = read_cert(ca.intermediate_cert)
    assert crl.is_signature_valid(intermediate.public_key())
    revoked_cert, kept_cert = read_cert(issued.sign_cert), read_cert(kept.sign_cert)
    assert crl.get_revoked_certificate_by_serial_number(revoked_cert.serial_number) is not None
    assert is_revoked(revoked_cert, intermediate, [crl])
    assert not is_revoked(kept_cert, intermediate, [crl])
    with pytest.raises(ChainError, match="revoked"):
        verify_signing_chain(
            revoked_cert,
            trusted=[read_cert(ca.root_cert)],
            intermediates=[intermediate],
            at=datetime.now(UTC),
            crls=[crl],
        )


def test_revoking_twice_lists_the_certificate_once(tmp_path: Path) -> None:
    ca = init_ca(tmp_path)
    issued = issue_establishment(ca, tmp_path, name="Clinique", finess="130000001")
    revoke(ca, issued.tls_cert)
    crl = x509.load_pem_x509_crl(revoke(ca, issued.tls_cert).read_bytes())
    assert len(list(crl)) == 1


def test_certificate_from_another_ca_does_not_chain(ca: CA, tmp_path: Path) -> None:
    other = init_ca(tmp_path)
    stranger = issue_establishment(other, tmp_path, name="Ailleurs", finess="130000003")
    with pytest.raises(ChainError, match="not trusted"):
        verify_signing_chain(
            read_cert(stranger.sign_cert),
            trusted=[read_cert(ca.root_cert)],
            intermediates=[read_cert(ca.intermediate_cert)],
            at=datetime.now(UTC),
        )


def test_cli_verbs_init_issue_and_revoke(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="xds")
    add_pki_commands(parser.add_subparsers(dest="command", required=True))

    def run(*argv: str) -> int:
        args = parser.parse_args(["pki", "--dir", str(tmp_path), *argv])
        code: int = args.run(args)
        return code

    assert run("init") == 0
    assert run("issue-establishment", "--finess", FINESS, "--name", "CH Test") == 0
    assert "structure id 1750712184" in capsys.readouterr().out
    sign = tmp_path / "establishments" / "1750712184" / "sign.pem"
    assert run("revoke", str(sign)) == 0
    assert run("init") == 2  # never overwrites a CA
