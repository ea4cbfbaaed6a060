"""The patient a request is about, read without parsing the whole message.

The WS-Security layer holds the assertion's patient (resource-id) against the request's
before the handler runs; the handler parses the body fully afterwards. A request whose
patient cannot be found here has none to check (its handler refuses it if it is malformed).
"""

from __future__ import annotations

from lxml import etree

from ebrim._rim import (
    EXTERNAL_IDENTIFIER,
    REGISTRY_OBJECT_LIST,
    REGISTRY_PACKAGE,
    SUBMIT_OBJECTS_REQUEST,
)
from ebrim.errors import EbrimError
from ebrim.storedquery import parse_adhoc_query_request
from ebrim.vocabulary import ExternalIdentifierScheme
from ebrim.xdsb import PROVIDE_AND_REGISTER_REQUEST

_SS_PATIENT = ExternalIdentifierScheme.SS_PATIENT_ID.value


def submission_patient_id(element: etree._Element) -> str | None:
    """The submission set's patientId of a SubmitObjectsRequest (ITI-42/57) or of the one
    inside a ProvideAndRegisterDocumentSetRequest (ITI-41); None when there is none.

    Several submission sets with different patients are the validator's to refuse; the
    first one is the one the assertion must name.
    """
    if element.tag == PROVIDE_AND_REGISTER_REQUEST:
        found = element.find(SUBMIT_OBJECTS_REQUEST)
        if found is None:
            return None
        element = found
    if element.tag != SUBMIT_OBJECTS_REQUEST:
        return None
    for package in element.iterfind(f"{REGISTRY_OBJECT_LIST}/{REGISTRY_PACKAGE}"):
        for identifier in package.iterfind(EXTERNAL_IDENTIFIER):
            if identifier.get("identificationScheme") == _SS_PATIENT:
                value = (identifier.get("value") or "").strip()
                return value or None
    return None


def query_patient_id(element: etree._Element) -> str | None:
    """The patient parameter of an ITI-18 Find*/GetAll query; None for the Get* queries
    (by id) and for a request that does not parse."""
    try:
        request = parse_adhoc_query_request(element)
    except EbrimError:
        return None
    patient = getattr(request.query, "patient_id", None)
    return patient if isinstance(patient, str) else None


__all__ = ["query_patient_id", "submission_patient_id"]
