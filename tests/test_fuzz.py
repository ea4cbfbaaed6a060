"""Fuzzing the wire (issue 13): no input gives an unhandled exception, an HTTP 500 or a hang.

Hypothesis mutates real messages (the official IHE examples, our own ITI-41 with MTOM, ADT
feeds, signed assertions) and also writes garbage, then feeds them to each reader: the MTOM
decoder, the SOAP envelope and WS-Addressing reader and the whole WSGI app (ebRIM and
stored-query parsers behind it, on a real registry and repository), the HL7 v2 feed and the
WS-Security reader. Each must answer with its typed refusal. The test run is bounded
(`XDS_FUZZ_EXAMPLES`, default 150 per target); a longer run is
`XDS_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/test_fuzz.py -p no:xdist`.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry_fixtures import PATIENT, migrated_engine, new_registry
from soap_support import QUERY, REGISTER, call, envelope, mtom_body, mtom_type

from ebrim.errors import EbrimError
from ebrim.parse import parse_submit_objects_request
from ebrim.safexml import parse_xml
from ebrim.storedquery import parse_adhoc_query_request
from registry import Registry, RegistrySettings
from registry.feed import handle_message
from repository import RepositorySettings, open_repository
from soap import SoapFault, decode_mtom, make_app
from soap.addressing import read_addressing
from soap.envelope import read_envelope
from soap.security import read_security
from soap.settings import SecurityMode

DATA = Path(__file__).parent / "data"
EXAMPLES = int(os.environ.get("XDS_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)

REGISTER_BODY = (DATA / "ihe" / "examples" / "XDS.b_RegisterDocumentSet-bRequest.xml").read_bytes()
QUERY_BODY = (DATA / "ihe" / "examples" / "XDS.b_RegistryStoredQueryRequest.xml").read_bytes()
PNR_SOAP = (
    DATA / "ihe" / "examples" / "XDS.b_ProvideAndRegisterDocumentSet-bRequest_SOAP.xml"
).read_bytes()
ADT = (DATA / "hl7" / "nist_adt_a01.hl7").read_text(encoding="utf-8").replace("\n", "\r")


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """`seed` with a few bytes replaced, inserted, deleted or a slice repeated."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["replace", "insert", "delete", "repeat", "truncate"]))
        chunk = draw(st.binary(min_size=1, max_size=8))
        if action == "replace":
            data[at : at + len(chunk)] = chunk
        elif action == "insert":
            data[at:at] = chunk
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif action == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 32))] * draw(st.integers(2, 20))
        else:
            del data[at:]
    return bytes(data)


def inputs(seed: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(mutated(seed), st.binary(max_size=512))


# --- the pure readers ----------------------------------------------------------------------


@FUZZ
@given(body=inputs(REGISTER_BODY))
def test_ebrim_parser_refuses_with_a_typed_error(body: bytes) -> None:
    with contextlib.suppress(EbrimError):
        parse_submit_objects_request(body)


@FUZZ
@given(body=inputs(QUERY_BODY))
def test_stored_query_parser_refuses_with_a_typed_error(body: bytes) -> None:
    with contextlib.suppress(EbrimError):
        parse_adhoc_query_request(body)


MTOM_SEED = mtom_body(PNR_SOAP, [("<doc1@x>", b"<ClinicalDocument/>")])


@FUZZ
@given(body=inputs(MTOM_SEED), boundary=st.sampled_from(["MIMEBoundary_1234", "x", "", "--"]))
def test_mtom_decoder_refuses_with_a_sender_fault(body: bytes, boundary: str) -> None:
    with contextlib.suppress(SoapFault):
        decode_mtom(io.BytesIO(body), mtom_type(boundary), chunk_size=7).close()


@FUZZ
@given(body=inputs(envelope(QUERY, QUERY_BODY.split(b"?>", 1)[-1])))
def test_envelope_and_addressing_readers_refuse_with_a_fault(body: bytes) -> None:
    try:
        root = parse_xml(body)
        read_addressing(read_envelope(root).headers, (QUERY,))
    except (SoapFault, EbrimError):
        pass


@FUZZ
@given(data=st.data())
def test_security_reader_refuses_with_a_fault(data: st.DataObject) -> None:
    seed = envelope(QUERY, b"<x/>")
    assertion = b'<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="a"/>'
    security = (
        b'<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/'
        b'oasis-200401-wss-wssecurity-secext-1.0.xsd">' + assertion + b"</wsse:Security>"
    )
    body = data.draw(inputs(seed.replace(b"<env:Header>", b"<env:Header>" + security, 1)))
    try:
        root = parse_xml(body)
        read_security(
            read_envelope(root).headers,
            mode=SecurityMode.REQUIRED,
            verifier=None,
            client=None,
            payload=root,
            patient_of=None,
        )
    except (SoapFault, EbrimError):
        pass


# --- the HL7 v2 feed ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def patients(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    with migrated_engine("sqlite", tmp_path_factory.mktemp("fuzz-feed"), request) as engine:
        yield Registry(engine, RegistrySettings()).patients


@FUZZ
@given(text=st.one_of(mutated(ADT.encode()).map(lambda b: b.decode("latin-1")), st.text()))
def test_hl7_feed_always_acknowledges(patients, text: str) -> None:
    ack = handle_message(patients, text, RegistrySettings())
    # An ACK in the sender's own separators (MSH-1 may be any character), or none at all
    # when the message has no readable MSH to answer.
    assert isinstance(ack, str) and (ack == "" or ack.startswith("MSH"))


# --- the whole app --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator:
    folder = tmp_path_factory.mktemp("fuzz-app")
    with migrated_engine("sqlite", folder, request) as engine:
        registry = new_registry(engine, PATIENT)
        repository = open_repository(
            RepositorySettings("1.3.6.1.4.1.21367.2005.3.7", folder / "d"), registry, engine
        )
        yield make_app(registry=registry, repository=repository)


def answered_without_500(answer) -> None:
    assert answer.status < 500 or b"internal error" not in answer.body, answer.body[:300]


@FUZZ
@given(body=inputs(envelope(REGISTER, REGISTER_BODY.split(b"?>", 1)[-1])))
def test_app_registry_endpoint_never_fails_internally(app, body: bytes) -> None:
    answered_without_500(call(app, "/xds/registry", body))


@FUZZ
@given(body=inputs(envelope(QUERY, QUERY_BODY.split(b"?>", 1)[-1])))
def test_app_query_never_fails_internally(app, body: bytes) -> None:
    answered_without_500(call(app, "/xds/registry", body))


@FUZZ
@given(body=inputs(MTOM_SEED))
def test_app_repository_endpoint_never_fails_internally(app, body: bytes) -> None:
    answered_without_500(call(app, "/xds/repository", body, content_type=mtom_type()))
