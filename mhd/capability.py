"""The CapabilityStatement at ``[base]/metadata``: what this MHD Document Responder serves."""

from __future__ import annotations

from typing import Any

from mhd.resources import MHD
from mhd.search import DOCUMENT_PARAMETERS, LIST_PARAMETERS

_TYPES = {
    "patient": "reference",
    "patient.identifier": "token",
    "status": "token",
    "creation": "date",
    "date": "date",
    "period": "date",
    "author.given": "string",
    "author.family": "string",
    "source.given": "string",
    "source.family": "string",
    "identifier": "token",
    "related": "reference",
    "code": "token",
    "designationType": "token",
    "sourceId": "token",
}
_UNSERVED = {
    "patient", "related:identifier", "targetCommunityIdList", "_count", "_offset", "_format",
}  # fmt: skip
_NOTES = {
    "related": "with the :identifier modifier only (the referenceIdList)",
    "isArchived": "PDSm: the DMP's Archived status (current with pdsm-ext-is-archived)",
}


def _params(names: frozenset[str]) -> list[dict[str, str]]:
    return [
        {"name": name, "type": _TYPES.get(name, "token")}
        | ({"documentation": _NOTES[name]} if name in _NOTES else {})
        for name in sorted(names - _UNSERVED)
    ]


def capability_statement(base: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-04",
        "kind": "instance",
        "instantiates": [f"{MHD}/CapabilityStatement/IHE.MHD.DocumentResponder"],
        "software": {"name": "xds-registry"},
        "implementation": {"description": "MHD Document Responder", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/fhir+xml"],
        "rest": [
            {
                "mode": "server",
                "interaction": [{"code": "transaction"}],
                "resource": [
                    {
                        "type": "DocumentReference",
                        "interaction": [
                            {"code": "read"},
                            {"code": "search-type"},
                            {"code": "patch"},
                            {
                                "code": "create",
                                "documentation": "ITI-105 Simplified Publish",
                            },
                        ],
                        "conditionalUpdate": True,
                        "searchParam": _params(DOCUMENT_PARAMETERS),
                    },
                    {
                        "type": "Patient",
                        "interaction": [{"code": "search-type"}],
                        "searchParam": [{"name": "identifier", "type": "token"}],
                        "documentation": "the DMP's record check: active = the record is open",
                    },
                    {
                        "type": "List",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": _params(LIST_PARAMETERS),
                    },
                ],
            }
        ],
    }


__all__ = ["capability_statement"]
