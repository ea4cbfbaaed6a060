"""Syntax of the HL7 v2 values XDS carries: CX, XCN, XON, XTN, CXi and sourcePatientInfo.

As in `formats`, each function returns None for a good value or a short reason.
ITI TF-3 4.2.3.1.7 (data types) and 4.2.3.2.23 (sourcePatientInfo).
"""

from __future__ import annotations

import re

from ebrim.hl7 import CX, HD, XCN, XON, XTN
from ebrim.validate.formats import oid_problem

_PID_LINE = re.compile(r"PID-([0-9]+)\|(.*)", re.S)
# PID fields that TF-3 4.2.3.2.23 excludes (patient id list aliases, county code, SSN…).
_EXCLUDED_PID_FIELDS = frozenset({2, 4, 12, 19})
_MAX_PID_FIELD = 39
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 ().\-]*")
_PHONE_EQUIPMENT = frozenset({"PH", "FX", "MD", "CP", "SAT", "BP", "TDD", "TTY"})


def iso_authority_problem(authority: HD, *, what: str = "assigning authority") -> str | None:
    """An HD given as &OID&ISO: no namespace id, a universal id that is an OID, type ISO."""
    if not authority:
        return f"no {what} (&OID&ISO)"
    if authority.namespace_id:
        return f"the {what} has a namespace id {authority.namespace_id!r}; only &OID&ISO is allowed"
    if not authority.universal_id:
        return f"the {what} has no universal id (OID)"
    problem = oid_problem(authority.universal_id)
    if problem:
        return f"the {what} {authority.universal_id!r} is not an OID ({problem})"
    if authority.universal_id_type != "ISO":
        return f"the {what} type is {authority.universal_id_type!r}, not ISO"
    return None


def cx_problem(value: str) -> str | None:
    """A patient id: ``id^^^&OID&ISO``, optionally with the identifier type code CX.5.

    CX.5 is tolerated because national profiles use it (the French INS ends in ``^NH``);
    the check-digit components CX.2/CX.3 and anything after CX.5 are refused.
    """
    cx = CX.parse(value)
    if not cx.id_number:
        return "no id number (CX.1)"
    if cx.other_components:
        positions = ", ".join(f"CX.{pos}" for pos, _ in cx.other_components)
        return f"only CX.1, CX.4 (and CX.5) may be valued, found {positions}"
    return iso_authority_problem(cx.assigning_authority)


def cxi_problem(value: str) -> str | None:
    """A referenceIdList value: id, an assigning authority when given, and its type (CX.5)."""
    cx = CX.parse(value)
    if not cx.id_number:
        return "no id (CXi.1)"
    if not cx.identifier_type_code:
        return "no identifier type code (CXi.5)"
    return None


def xcn_problem(value: str) -> str | None:
    """A person: an id (XCN.1) or a family name (XCN.2); an authority, when given, is &OID&ISO."""
    xcn = XCN.parse(value)
    if not xcn.id_number and not xcn.family_name:
        return "neither an id (XCN.1) nor a family name (XCN.2)"
    if xcn.assigning_authority:
        return iso_authority_problem(xcn.assigning_authority)
    return None


def xon_problem(value: str) -> str | None:
    """An organisation: a name (XON.1); an organisation id (XON.10) that is not itself an OID
    needs its assigning authority (XON.6) as &OID&ISO."""
    xon = XON.parse(value)
    if not xon.organization_name:
        return "no organization name (XON.1)"
    if xon.organization_identifier and oid_problem(xon.organization_identifier):
        return iso_authority_problem(xon.assigning_authority)
    if xon.assigning_authority and not xon.organization_identifier:
        return "an assigning authority (XON.6) without an organization identifier (XON.10)"
    return None


def xtn_problem(value: str) -> str | None:
    """An e-mail (``^^Internet^user@host``) or a telephone number."""
    xtn = XTN.parse(value)
    if xtn.equipment_type in ("Internet", "X.400"):
        if not _EMAIL.fullmatch(xtn.email):
            return f"XTN.3 is {xtn.equipment_type} but XTN.4 {xtn.email!r} is not an address"
        return None
    parts = value.split("^")
    numbers = [xtn.telephone_number] + [parts[i] for i in (5, 6, 11) if i < len(parts)]
    numbers = [n for n in numbers if n]
    if not numbers:
        return "neither an e-mail (^^Internet^address) nor a telephone number"
    if xtn.equipment_type and xtn.equipment_type not in _PHONE_EQUIPMENT:
        return f"unknown equipment type (XTN.3) {xtn.equipment_type!r}"
    bad = [n for n in numbers if not _PHONE.fullmatch(n)]
    if bad:
        return f"{bad[0]!r} is not a telephone number"
    return None


def source_patient_info_problem(value: str) -> str | None:
    match = _PID_LINE.fullmatch(value)
    if not match:
        return "it does not start with PID-n|"
    number = int(match.group(1))
    if not 1 <= number <= _MAX_PID_FIELD:
        return f"PID-{number} is not a PID field"
    if number in _EXCLUDED_PID_FIELDS:
        return f"PID-{number} must not be used in XDS"
    if not match.group(2):
        return f"PID-{number} has no value"
    if number == 3 and not CX.parse(match.group(2)).id_number:
        return "PID-3 has no id number"
    return None
