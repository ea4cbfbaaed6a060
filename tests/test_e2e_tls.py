"""`xds serve --tls --security required` on loopback: the handshake refuses what it must,
and each forged, stale, replayed or mismatched assertion gets its WS-Security fault while
the server keeps serving; the client's own signed VIHF goes through ITI-41 and ITI-18."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from e2e_support import TIMEOUT, feed, secure_server, submission, xds
from lxml import etree
from security_support import (
    DOCTOR,
    INS,
    OTHER_INS,
    DevPki,
    attribute_value,
    make_pki,
    vihf,
    wrapped,
)
from sqlalchemy import select

from ebrim.storedquery import FindDocumentsQuery, StoredQueryRequest
from ebrim.vocabulary import AvailabilityStatus
from ebrim.xdsb import DocumentLocator
from pki._files import read_cert
from pki.assertion import AuthenticationMode, Code, Software, VihfOptions
from pki.assertion.names import Attr
from registry import create_engine_for
from registry.records_schema import audit_events
from soap.client import FaultError, VihfSigner, XdsClient
from xds_cli.server import ServerProcess

APPROVED = (AvailabilityStatus.APPROVED.value,)
DIRECT = AuthenticationMode.DIRECT


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_pki(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server(pki: DevPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with secure_server(pki, tmp_path_factory.mktemp("tls-server"), workers=2) as running:
        feed(running, INS)
        feed(running, OTHER_INS)
        _authorise(running, pki)
        yield running


def _authorise(server: ServerProcess, pki: DevPki) -> None:
    """The patient opens the record and authorises the doctor (the access policy's part)."""
    own = [Code("ONESELF", "2.16.840.1.113883.5.111")]
    assertions = lambda patient: vihf(pki, roles=own, professional_id="PATIENT-1")  # noqa: E731
    hospital = (pki.hospital.tls_cert, pki.hospital.tls_key)
    records = XdsClient(server.url, cert=hospital, verify=pki.ca.chain, assertions=assertions)
    assert records.records.open(INS).success
    assert records.records.grant(INS, "899700218896").success


def client(server: ServerProcess, pki: DevPki, assertion: etree._Element | None) -> XdsClient:
    """A client presenting the hospital's certificate and always this very assertion."""
    source = (lambda _patient: deepcopy(assertion)) if assertion is not None else None
    return XdsClient(
        server.url,
        cert=(pki.hospital.tls_cert, pki.hospital.tls_key),
        verify=pki.ca.chain,
        assertions=source,
        use_zeep=False,
    )


def find(patient: str = INS) -> StoredQueryRequest:
    return StoredQueryRequest(FindDocumentsQuery(patient_id=patient, statuses=APPROVED))


def refused(server: ServerProcess, pki: DevPki, assertion: etree._Element | None, **kw) -> str:
    with pytest.raises(FaultError) as caught:
        client(server, pki, assertion).query(find(**kw))
    assert caught.value.code == "Sender"
    return caught.value.subcodes[-1]


def still_serving(server: ServerProcess, pki: DevPki) -> None:
    answer = client(server, pki, vihf(pki, authentication_mode=DIRECT)).query(find())
    assert answer.response.status.name == "SUCCESS"


# --- the handshake ------------------------------------------------------------------------


def _get(server: ServerProcess, pki: DevPki, cert: tuple[Path, Path] | None) -> None:
    requests.get(
        f"{server.url}/xds/registry?wsdl",
        cert=(str(cert[0]), str(cert[1])) if cert else None,
        verify=str(pki.ca.chain),
        timeout=TIMEOUT,
    )


@pytest.mark.parametrize("who", ["nobody", "stranger", "expired", "revoked"])
def test_handshake_refuses_a_client_without_a_good_certificate(server, pki, who: str) -> None:
    establishment = None if who == "nobody" else getattr(pki, who)
    cert = (establishment.tls_cert, establishment.tls_key) if establishment else None
    with pytest.raises(requests.exceptions.ConnectionError):
        _get(server, pki, cert)
    _get(server, pki, (pki.hospital.tls_cert, pki.hospital.tls_key))


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_handshake_refuses_tls_1_1(server, pki) -> None:
    import socket
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(str(pki.ca.chain))
    context.load_cert_chain(str(pki.hospital.tls_cert), str(pki.hospital.tls_key))
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
    address = ("127.0.0.1", server.port)
    with socket.create_connection(address, timeout=TIMEOUT) as raw, pytest.raises(ssl.SSLError):
        context.wrap_socket(raw, server_hostname="127.0.0.1")


def test_signed_vihf_from_our_client_goes_through_iti41_and_iti18(server, pki) -> None:
    sign = pki.hospital
    options = VihfOptions(
        professional_id="899700218896",
        professional_name="DUPONT Jean",
        roles=[DOCTOR],
        structure_id=sign.structure_id,
        sector="SA01^1.2.250.1.71.4.2.4",
        patient_id="",
        software=Software("xds-registry-tests", "0.1.0"),
        authentication_mode=DIRECT,  # the access policy: indirect may feed, not consult
    )
    signer = VihfSigner(options, sign.sign_key, sign.sign_cert)
    xds_client = XdsClient(
        server.url,
        cert=(sign.tls_cert, sign.tls_key),
        verify=pki.ca.chain,
        assertions=signer,
    )
    metadata = submission(INS)
    response = xds_client.provide_and_register(
        metadata, {metadata.documents[0].entry_uuid: b"<ClinicalDocument/>"}
    )
    assert response.status.name == "SUCCESS", response
    answer = xds_client.query(find())  # through zeep and its SecurityPlugin
    unique_ids = {doc.unique_id for doc in answer.metadata.documents}
    assert metadata.documents[0].unique_id in unique_ids
    log = server.log()
    assert "professional=899700218896" in log and f"structure={sign.structure_id}" in log


# --- assertions refused over SOAP -------------------------------------------------------


def _tampered(pki: DevPki) -> etree._Element:
    assertion = vihf(pki)
    attribute_value(assertion, Attr.SUBJECT_ID).text = "MARTIN Paul"
    return assertion


def _other_key(pki: DevPki) -> etree._Element:
    import base64

    from cryptography.hazmat.primitives.serialization import Encoding

    from pki.assertion import issuer_name
    from pki.assertion.names import ds, saml

    assertion = vihf(pki, by=pki.stranger)
    trusted = read_cert(pki.hospital.sign_cert)
    assertion.find(saml("Issuer")).text = issuer_name(trusted)
    cert = assertion.find(f".//{ds('X509Certificate')}")
    cert.text = base64.b64encode(trusted.public_bytes(Encoding.DER)).decode()
    return assertion


CASES: dict[str, tuple[Callable[[DevPki], etree._Element | None], str, str]] = {
    "no assertion": (lambda pki: None, "wsse:InvalidSecurity", INS),
    "unsigned": (lambda pki: vihf(pki, sign=False), "wsse:InvalidSecurityToken", INS),
    "tampered attribute": (_tampered, "wsse:FailedCheck", INS),
    "signed by another key": (_other_key, "wsse:FailedCheck", INS),
    "untrusted certificate": (
        lambda pki: vihf(pki, by=pki.stranger),
        "wsse:FailedAuthentication",
        INS,
    ),
    "expired": (
        lambda pki: vihf(pki, now=datetime.now(UTC) - timedelta(hours=1)),
        "wsse:MessageExpired",
        INS,
    ),
    "wrapped": (lambda pki: wrapped(vihf(pki)), "wsse:FailedCheck", OTHER_INS),
    "structure not the TLS one": (
        lambda pki: vihf(pki, structure_id="1750000099"),
        "wsse:FailedAuthentication",
        INS,
    ),
    "patient not the query's": (lambda pki: vihf(pki), "wsse:FailedAuthentication", OTHER_INS),
    # Issue 13: establishment B seals a VIHF claiming A's structure, sent over A's connection.
    "signed by another establishment of the same CA": (
        lambda pki: vihf(pki, by=pki.rival),
        "wsse:FailedAuthentication",
        INS,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_assertion_gets_its_fault_and_the_server_keeps_serving(server, pki, case) -> None:
    make, subcode, patient = CASES[case]
    assert refused(server, pki, make(pki), patient=patient) == subcode
    still_serving(server, pki)


def test_replayed_assertion_is_refused_by_every_worker(server, pki) -> None:
    assertion = vihf(pki)
    client(server, pki, assertion).query(find())
    # Each attempt on a new connection, until both workers (two pids) have refused it.
    pids: set[str] = set()
    deadline = time.monotonic() + 10
    while len(pids) < 2 and time.monotonic() < deadline:
        assert refused(server, pki, assertion) == "wsse:FailedAuthentication"
        pids = set(re.findall(r" (\d+) INFO soap\.access .*Fault:Sender", server.log()))
    assert len(pids) >= 2, "the replay was not seen by both workers"


def test_cli_query_with_client_certificate_and_signed_vihf(server, pki) -> None:
    hospital = pki.hospital
    result = xds(
        "query", "--patient", INS, "--url", server.url, "--ca", str(pki.ca.chain),
        "--tls-cert", str(hospital.tls_cert), "--tls-key", str(hospital.tls_key),
        "--sign-cert", str(hospital.sign_cert), "--sign-key", str(hospital.sign_key),
        "--professional", "899700218896", "--professional-name", "DUPONT Jean",
        "--auth-mode", "DIRECTE",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    without = xds("query", "--patient", INS, "--url", server.url, "--ca", str(pki.ca.chain))
    assert without.returncode == 2


def test_serve_with_tls_starts_from_a_folder_holding_pki(pki, tmp_path: Path) -> None:
    # Issue 13: `xds pki --dir pki init` makes ./pki, which then shadowed the project's `pki`
    # package in the side process ("cannot import name 'structure_id' from 'pki'").
    made = subprocess.run(
        [str(Path(sys.executable).with_name("xds")), "pki", "--dir", "pki", "init"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "pki").is_dir()
    with secure_server(pki, tmp_path / "data", cwd=tmp_path) as running:
        feed(running, INS)
        assert "ImportError" not in running.log()


# --- a split deployment -------------------------------------------------------------------


def _tls_args(pki: DevPki) -> list[str]:
    return [
        "--tls", "--tls-cert", str(pki.server.cert), "--tls-key", str(pki.server.key),
        "--tls-ca", str(pki.ca.chain), "--tls-crl", str(pki.ca.crl), "--security", "required",
    ]  # fmt: skip


def test_a_repository_alone_forwards_iti42_to_a_secured_registry(pki, tmp_path) -> None:
    # Issue 13: the repository forwarded ITI-42 without a client certificate or an assertion,
    # so a registry run with --security required refused every submission made through it.
    hospital = (pki.hospital.tls_cert, pki.hospital.tls_key)
    with ServerProcess(
        tmp_path / "registry", role="registry", args=_tls_args(pki), ca=pki.ca.chain,
        client_cert=hospital,
    ) as registry:  # fmt: skip
        feed(registry, INS)
        forwarding = [
            "--registry-url", registry.url, "--repository-id", "1.2.3.4.5",
            "--registry-cert", str(pki.rival.tls_cert), "--registry-key", str(pki.rival.tls_key),
            "--registry-ca", str(pki.ca.chain),
            "--registry-sign-cert", str(pki.rival.sign_cert),
            "--registry-sign-key", str(pki.rival.sign_key),
        ]  # fmt: skip
        with ServerProcess(
            tmp_path / "repository", role="repository", args=[*_tls_args(pki), *forwarding],
            ca=pki.ca.chain, client_cert=hospital,
        ) as repository:  # fmt: skip
            signer = VihfSigner(
                VihfOptions(
                    professional_id="899700218896",
                    professional_name="DUPONT Jean",
                    roles=[DOCTOR],
                    structure_id=pki.hospital.structure_id,
                    sector="SA01^1.2.250.1.71.4.2.4",
                    patient_id="",
                    software=Software("xds-registry-tests", "0.1.0"),
                    authentication_mode=DIRECT,
                ),
                pki.hospital.sign_key,
                pki.hospital.sign_cert,
            )
            hospital_client = XdsClient(
                registry.url, repository_url=repository.url, cert=hospital,
                verify=pki.ca.chain, assertions=signer,
            )  # fmt: skip
            metadata = submission(INS)

            response = hospital_client.provide_and_register(
                metadata, {metadata.documents[0].entry_uuid: b"<ClinicalDocument/>"}
            )

            assert response.status.name == "SUCCESS", response.errors
            # ITI-43 through the repository: the registry decides (an ITI-18 asked as the
            # requester). The record is not open yet: refused, and recorded.
            unique_id = metadata.documents[0].unique_id or ""
            locator = DocumentLocator("1.2.3.4.5", unique_id)
            reader = XdsClient(
                registry.url, repository_url=repository.url, cert=hospital,
                verify=pki.ca.chain, assertions=VihfSigner(
                    replace(signer.options, patient_id=INS), pki.hospital.sign_key,
                    pki.hospital.sign_cert,
                ),
            )  # fmt: skip
            answer = reader.retrieve([locator], lambda _: tmp_path / "back.xml")
            assert answer.response.status.name == "FAILURE"
            assert "not open" in str(answer.response.errors)
            # The doctor opens the record, the patient authorises them: the retrieve goes through.
            assert reader.records.open(INS).success
            patient = XdsClient(
                registry.url, cert=hospital, verify=pki.ca.chain, assertions=VihfSigner(
                    replace(signer.options, professional_id=INS, professional_name="the patient",
                            roles=[Code("ONESELF", "2.16.840.1.113883.5.111")], patient_id=INS),
                    pki.hospital.sign_key, pki.hospital.sign_cert,
                ),
            )  # fmt: skip
            assert patient.records.grant(INS, "899700218896").success
            answer = reader.retrieve([locator], lambda _: tmp_path / "back.xml")
            assert answer.response.status.name == "SUCCESS", answer.response.errors
            assert (tmp_path / "back.xml").read_bytes() == b"<ClinicalDocument/>"
            removed = reader.remove_documents([locator])  # ITI-86
            assert removed.status.name == "SUCCESS", removed.errors
        # The repository audited what it served in its own database.
        database = tmp_path / "repository" / "repository.sqlite"
        with create_engine_for(f"sqlite:///{database}").connect() as conn:
            rows = conn.execute(
                select(audit_events.c.transaction, audit_events.c.outcome,
                       audit_events.c.professional_id, audit_events.c.patient_id)
            ).all()  # fmt: skip
        events = {tuple(row) for row in rows}
        assert ("ITI-41", "success", "899700218896", INS.removesuffix("^NH")) in events
        assert ("ITI-43", "failure", "899700218896", INS.removesuffix("^NH")) in events
        assert ("ITI-43", "success", "899700218896", INS.removesuffix("^NH")) in events
        assert ("ITI-86", "success", "899700218896", INS.removesuffix("^NH")) in events
        # Without its certificate and seal, the same repository's ITI-42 is refused.
        bare = forwarding[:4]
        with ServerProcess(
            tmp_path / "bare", role="repository", args=[*_tls_args(pki), *bare],
            ca=pki.ca.chain, client_cert=hospital,
        ) as unsecured:  # fmt: skip
            refused_here = XdsClient(
                registry.url, repository_url=unsecured.url, cert=hospital,
                verify=pki.ca.chain, assertions=signer,
            ).provide_and_register(
                submission(INS), {"Document01": b"<ClinicalDocument/>"}
            )  # fmt: skip
            assert refused_here.status.name == "FAILURE"
        # The registry decided and audited on the professional who submitted, sealed and
        # sent by the repository's establishment.
        log = registry.log()
        assert "professional=899700218896" in log
        assert f"structure={pki.rival.structure_id}" in log


def test_a_large_upload_over_tls_goes_through_the_intake(server, pki) -> None:
    # 12 MB over mutual TLS: the worker's event loop reads it in turns of 4 MiB, and TLS
    # bytes already decrypted (which do not wake the poller) are not left waiting.
    signer = VihfSigner(
        VihfOptions(
            professional_id="899700218896", professional_name="DUPONT Jean", roles=[DOCTOR],
            structure_id=pki.hospital.structure_id, sector="SA01^1.2.250.1.71.4.2.4",
            patient_id="", software=Software("xds-registry-tests", "0.1.0"),
        ),
        pki.hospital.sign_key, pki.hospital.sign_cert,
    )  # fmt: skip
    client_ = XdsClient(
        server.url, cert=(pki.hospital.tls_cert, pki.hospital.tls_key), verify=pki.ca.chain,
        assertions=signer, timeout=(5, 60),
    )  # fmt: skip
    metadata = submission(INS, mime_type="application/octet-stream")
    content = bytes(range(256)) * (12 * 4096)
    started = time.monotonic()
    response = client_.provide_and_register(metadata, {metadata.documents[0].entry_uuid: content})
    assert response.status.name == "SUCCESS", response
    assert time.monotonic() - started < 30


# --- the console under TLS ----------------------------------------------------------------


def test_the_console_opens_only_for_an_operator_certificate(pki, tmp_path) -> None:
    from cryptography import x509

    hospital = (pki.hospital.tls_cert, pki.hospital.tls_key)
    operator = x509.load_pem_x509_certificate(pki.hospital.tls_cert.read_bytes())
    args = [*_tls_args(pki), "--console-operator", operator.subject.rfc4514_string()]
    with ServerProcess(
        tmp_path / "console", args=args, ca=pki.ca.chain, client_cert=hospital
    ) as running:
        page = f"{running.url}/console/endpoints"
        opened = requests.get(page, cert=hospital, verify=str(pki.ca.chain), timeout=20)
        rival = (pki.rival.tls_cert, pki.rival.tls_key)
        refused = requests.get(page, cert=rival, verify=str(pki.ca.chain), timeout=20)

    assert opened.status_code == 200 and "repositoryUniqueId" in opened.text
    assert refused.status_code == 403 and "repositoryUniqueId" not in refused.text
