"""The CDA reader's refusals, its time conversion, ids, and the CDA sniffing."""

from __future__ import annotations

import pytest

from cda import (
    CdaTooLarge,
    CdaUnreadable,
    IncompleteHeader,
    NotCda,
    WrongNamespace,
    is_cda_start,
    read_header,
    ts_to_utc_dtm,
)

HL7 = "urn:hl7-org:v3"


def cda(body: str = "", *, patient_ids: str | None = None, doc_id: str | None = None) -> bytes:
    ids = (
        patient_ids
        if patient_ids is not None
        else ('<id root="1.2.250.1.213.1.4.8" extension="277076322082910"/>')
    )
    document_id = doc_id if doc_id is not None else '<id root="1.2.3.4" extension="42"/>'
    return (
        f'<ClinicalDocument xmlns="{HL7}">{document_id}'
        '<effectiveTime value="20240101103000+0200"/>'
        f"<recordTarget><patientRole>{ids}</patientRole></recordTarget>{body}</ClinicalDocument>"
    ).encode()


@pytest.mark.parametrize(
    ("ts", "dtm"),
    [
        ("20210503114500+0100", "20210503104500"),
        ("20210503004500+0100", "20210502234500"),  # crosses midnight backwards
        ("20211231233000-0100", "20220101003000"),  # crosses a year forwards
        ("202105031145+0530", "202105030615"),
        ("2021050311+0100", "2021050310"),
        ("20210503114500.1234+0100", "20210503104500"),  # fraction dropped
        ("20210503114500", "20210503114500"),  # no offset: kept as written
        ("20210503+0100", "20210503"),  # a date is not shifted
        ("2021", "2021"),
        ("202105", "202105"),
    ],
)
def test_time_is_converted_to_utc_at_its_precision(ts: str, dtm: str) -> None:
    assert ts_to_utc_dtm(ts) == dtm


@pytest.mark.parametrize("ts", ["2021-05-03", "20211301", "20210503114500+2500", "abc", "20215"])
def test_bad_time_is_refused_naming_it(ts: str) -> None:
    with pytest.raises(IncompleteHeader, match="time"):
        ts_to_utc_dtm(ts)


def test_malformed_xml_is_refused() -> None:
    with pytest.raises(CdaUnreadable, match="not readable as XML"):
        read_header(b"<ClinicalDocument xmlns='urn:hl7-org:v3'><id>")


def test_doctype_is_refused() -> None:
    data = b'<!DOCTYPE x [<!ENTITY e "boom">]>' + cda()
    with pytest.raises(CdaUnreadable, match="DOCTYPE"):
        read_header(data)


def test_non_cda_root_is_refused() -> None:
    with pytest.raises(NotCda, match="root element is 'html'"):
        read_header(b"<html><body/></html>")


def test_wrong_namespace_is_refused() -> None:
    data = cda().replace(HL7.encode(), b"urn:example:not-hl7")
    with pytest.raises(WrongNamespace, match="urn:example:not-hl7"):
        read_header(data)


def test_no_namespace_is_refused() -> None:
    with pytest.raises(WrongNamespace, match="none"):
        read_header(b"<ClinicalDocument><id root='1.2.3'/></ClinicalDocument>")


def test_huge_document_is_refused_before_parsing() -> None:
    data = cda("<title>" + "x" * 2000 + "</title>")
    with pytest.raises(CdaTooLarge, match="exceeds the limit of 1000"):
        read_header(data, max_bytes=1000)


def test_document_without_id_is_refused() -> None:
    with pytest.raises(IncompleteHeader, match="ClinicalDocument/id"):
        read_header(cda(doc_id=""))


def test_document_without_patient_id_is_refused() -> None:
    with pytest.raises(IncompleteHeader, match="patientRole/id"):
        read_header(cda(patient_ids='<id root="1.2.3.4"/>'))


def test_unique_id_without_extension_is_the_root() -> None:
    assert read_header(cda(doc_id='<id root="1.2.3.4.5"/>')).unique_id == "1.2.3.4.5"


def test_ins_is_preferred_to_an_earlier_local_id() -> None:
    ids = (
        '<id root="1.2.3.9" extension="IPP7"/>'
        '<id root="1.2.250.1.213.1.4.9" extension="277076322082910"/>'
    )
    header = read_header(cda(patient_ids=ids))
    assert header.patient_id == "277076322082910^^^&1.2.250.1.213.1.4.9&ISO^NH"
    assert header.source_patient_id == "IPP7^^^&1.2.3.9&ISO"


def test_without_ins_the_first_id_is_the_patient() -> None:
    header = read_header(cda(patient_ids='<id root="1.2.3.9" extension="A^B&amp;C"/>'))
    assert header.patient_id == "A\\S\\B\\T\\C^^^&1.2.3.9&ISO"  # HL7 escapes


def test_missing_optional_parts_are_left_empty() -> None:
    header = read_header(cda())
    entry = header.document_entry()
    assert entry.type_code is None and entry.format_code is None and entry.authors == ()
    assert entry.creation_time == "20240101083000"


def test_sniffing_recognises_cda_after_comments_and_pis() -> None:
    prefix = b'<?xml version="1.0"?><?xml-stylesheet href="x.xsl"?><!-- c -->' + cda()[:60]
    assert is_cda_start(prefix)


@pytest.mark.parametrize(
    "prefix",
    [b"%PDF-1.5 binary", b"<html><body>", cda().replace(HL7.encode(), b"urn:x"), b"", b"<<<"],
)
def test_sniffing_rejects_anything_else(prefix: bytes) -> None:
    assert not is_cda_start(prefix)
