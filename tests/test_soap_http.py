"""The HTTP edge: routing, methods, size limits, Content-Length and chunked bodies."""

from __future__ import annotations

import io

import pytest
from soap_support import RETRIEVE, FakeRepository, call, envelope

from ebrim.xdsb import DocumentLocator, render_retrieve_document_set_request
from soap import SoapSettings, make_app

PATH = "/xds/repository"
BODY = envelope(RETRIEVE, render_retrieve_document_set_request([DocumentLocator("1", "2")]))


@pytest.fixture
def app():
    return make_app(repository=FakeRepository(), settings=SoapSettings(max_request_bytes=4096))


def test_unknown_path_is_404(app):
    assert call(app, "/xds/nothing", BODY).status == 404


def test_registry_path_absent_without_registry(app):
    assert call(app, "/xds/registry", BODY).status == 404


def test_other_methods_are_405(app):
    assert call(app, PATH, method="PUT").status == 405


def test_trailing_slash_is_the_same_endpoint(app):
    assert call(app, PATH + "/", BODY).status == 200


def test_declared_length_over_the_limit_is_413_before_reading(app):
    answer = call(app, PATH, io.BytesIO(b""), length=10_000)
    assert answer.status == 413
    assert answer.fault_codes() == ["env:Sender"]


def test_chunked_body_over_the_limit_is_413(app):
    big = io.BytesIO(BODY + b" " * 10_000)
    answer = call(app, PATH, big, environ={"HTTP_TRANSFER_ENCODING": "chunked"})
    assert answer.status == 413


def test_chunked_body_within_the_limit_is_served(app):
    answer = call(app, PATH, io.BytesIO(BODY), environ={"HTTP_TRANSFER_ENCODING": "chunked"})
    assert answer.status == 200


def test_body_shorter_than_its_content_length_is_a_sender_fault(app):
    answer = call(app, PATH, BODY, length=len(BODY) + 100)
    assert answer.status == 400
    assert b"truncated" in answer.body


def test_body_without_length_or_chunking_is_411(app):
    answer = call(app, PATH, io.BytesIO(BODY))
    assert answer.status == 411


def test_envelope_over_the_xml_limit_is_413():
    settings = SoapSettings(max_envelope_bytes=100)
    app = make_app(repository=FakeRepository(), settings=settings)
    assert call(app, PATH, BODY).status == 413
