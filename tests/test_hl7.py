"""HL7 v2 data types split into named parts and written back unchanged."""

from __future__ import annotations

import pytest

from ebrim.hl7 import CX, HD, XCN, XON, XTN


def test_cx_parts_of_dmp_ins() -> None:
    cx = CX.parse("279035121518989^^^&1.2.250.1.213.1.4.8&ISO^NH")
    assert cx.id_number == "279035121518989"
    assert cx.assigning_authority == HD("", "1.2.250.1.213.1.4.8", "ISO")
    assert cx.identifier_type_code == "NH"
    assert cx.other_components == ()


def test_cx_keeps_components_xds_forbids() -> None:
    cx = CX.parse("123^4^M10^&1.2.3&ISO^^^fac")
    assert cx.other_components == ((2, "4"), (3, "M10"), (7, "fac"))


@pytest.mark.parametrize(
    "text",
    [
        "ST-1000^^^&1.3.6.1.4.1.21367.2003.3.9&ISO",
        "279035121518989^^^&1.2.250.1.213.1.4.8&ISO^NH",
        "123^4^M10^&1.2.3&ISO^^^fac",
        "only-id",
    ],
)
def test_cx_written_back_unchanged(text: str) -> None:
    assert str(CX.parse(text)) == text


def test_xcn_parts() -> None:
    xcn = XCN.parse("801234567^DUPONT^Jean^Pierre^^Dr^^^&1.2.250.1.71.4.2.1&ISO")
    assert (xcn.id_number, xcn.family_name, xcn.given_name) == ("801234567", "DUPONT", "Jean")
    assert xcn.prefix == "Dr"
    assert xcn.assigning_authority.universal_id == "1.2.250.1.71.4.2.1"
    assert str(xcn) == "801234567^DUPONT^Jean^Pierre^^Dr^^^&1.2.250.1.71.4.2.1&ISO"


def test_xcn_family_name_is_first_subcomponent() -> None:
    assert XCN.parse("^Smith&van^John").family_name == "Smith"


@pytest.mark.parametrize(
    "text",
    [
        "Hôpital Saint-Louis^^^^^&1.2.250.1.71.4.2.2&ISO^^^^10000001",
        "Cleveland Clinic",
        "Some Hospital^^^^^^^^^1.2.3.4.5.6.7.8.9.1789.45",
    ],
)
def test_xon_written_back_unchanged(text: str) -> None:
    assert str(XON.parse(text)) == text


def test_xon_parts() -> None:
    xon = XON.parse("Hôpital Saint-Louis^^^^^&1.2.250.1.71.4.2.2&ISO^^^^10000001")
    assert xon.organization_name == "Hôpital Saint-Louis"
    assert xon.assigning_authority.universal_id == "1.2.250.1.71.4.2.2"
    assert xon.organization_identifier == "10000001"


def test_xtn_email_parts() -> None:
    xtn = XTN.parse("^^Internet^jean.dupont@example.org")
    assert (xtn.equipment_type, xtn.email) == ("Internet", "jean.dupont@example.org")


def test_empty_hd_is_false() -> None:
    assert not HD.parse("")
    assert HD.parse("&1.2.3&ISO")
