"""Any valid model survives render → XML bytes → parse unchanged, and renders schema-valid XML."""

from __future__ import annotations

from conftest import assert_valid
from hypothesis import HealthCheck, given, settings
from lxml import etree
from strategies import metadata

from ebrim.model import Metadata, RegistryResponse
from ebrim.parse import parse_adhoc_query_response, parse_submit_objects_request
from ebrim.render import render_adhoc_query_response, render_submit_objects_request
from ebrim.vocabulary import ResponseStatus, ReturnType

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(metadata())
def test_random_metadata_survives_submit_roundtrip(model: Metadata) -> None:
    rendered = render_submit_objects_request(model)
    assert_valid(rendered, "lcm")
    assert parse_submit_objects_request(etree.tostring(rendered)) == model


@FAST
@given(metadata())
def test_random_metadata_survives_query_response_roundtrip(model: Metadata) -> None:
    response = RegistryResponse(ResponseStatus.SUCCESS)
    rendered = render_adhoc_query_response(response, model, ReturnType.LEAF_CLASS)
    assert_valid(rendered, "query")
    assert parse_adhoc_query_response(etree.tostring(rendered)) == (response, model)
