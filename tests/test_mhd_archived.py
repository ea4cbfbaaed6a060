"""PDSm's isArchived over the DMP's Archived status: ITI-67 in process, on both backends."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from registry_fixtures import PATIENT, Submission, new_registry
from sqlalchemy import Engine
from update_support import APPROVED, ARCHIVED, registered, status_change, succeeded

from ebrim.hl7 import CX
from ebrim.profile import Profile
from ebrim.validate import validate
from mhd.app import MhdApplication
from mhd.resources import IS_ARCHIVED
from registry import Registry, RegistrySettings


@pytest.fixture
def registries(engine: Engine) -> tuple[Registry, Registry]:
    """A generic registry to submit with, the DMP one (its Archived status) to archive and
    search with, on the same database."""
    dmp = Registry(
        engine,
        RegistrySettings(profile=Profile.DMP),
        clock=lambda: datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
        validator=lambda metadata, **kw: validate(metadata, transaction=kw["transaction"]),
    )
    return new_registry(engine), dmp


def search(app: MhdApplication, kind: str = "DocumentReference", **params: str) -> Any:
    cx = CX.parse(PATIENT)
    query = {
        "patient.identifier": f"urn:oid:{cx.assigning_authority.universal_id}|{cx.id_number}",
        **params,
    }
    seen: dict[str, str] = {}

    def start(status: str, _headers: list[tuple[str, str]], _exc: object = None) -> None:
        seen["status"] = status

    environ = {
        "PATH_INFO": f"/fhir/{kind}",
        "REQUEST_METHOD": "GET",
        "QUERY_STRING": urlencode(query),
        "wsgi.input": io.BytesIO(),
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "registry.test",
        "REMOTE_ADDR": "127.0.0.1",
    }
    body = b"".join(app(environ, start))
    return seen["status"], json.loads(body)


def ids(bundle: dict[str, Any]) -> set[str]:
    return {f"urn:uuid:{e['resource']['id']}" for e in bundle.get("entry", [])}


def test_is_archived_selects_the_dmp_archived_documents(
    registries: tuple[Registry, Registry],
) -> None:
    generic, dmp = registries
    submission = Submission()
    submission.add()
    submission.add()
    made = registered(generic, submission)
    kept, archived = made["Document01"], made["Document02"]
    succeeded(dmp.update(status_change(archived, APPROVED, ARCHIVED)))
    app = MhdApplication(dmp)

    status, everything = search(app, status="current")
    assert status.startswith("200"), everything
    assert ids(everything) == {kept, archived}
    shown = {e["resource"]["id"]: e["resource"] for e in everything["entry"]}
    flags = shown[archived.removeprefix("urn:uuid:")].get("extension", [])
    assert {"url": IS_ARCHIVED, "valueBoolean": True} in flags
    assert ids(search(app, status="current", isArchived="true")[1]) == {archived}
    assert ids(search(app, status="current", isArchived="false")[1]) == {kept}
    by_id = search(app, status="current", isArchived="false", identifier=archived)[1]
    assert ids(by_id) == set()

    refused, outcome = search(app, status="superseded", isArchived="true")
    assert refused.startswith("400") and "isArchived" in outcome["issue"][0]["diagnostics"]
    refused, outcome = search(app, status="current", isArchived="maybe")
    assert refused.startswith("400") and "true or false" in outcome["issue"][0]["diagnostics"]
    lists = search(app, "List", status="current", code="submissionset", isArchived="true")
    assert lists[0].startswith("200") and "entry" not in lists[1]
    assert "entry" in search(app, "List", status="current", code="submissionset")[1]
