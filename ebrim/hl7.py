"""The HL7 v2 data types that XDS metadata carries as strings: HD, CX, XCN, XON, XTN.

`X.parse(text)` never fails: it splits on the component (``^``) and subcomponent (``&``)
separators and names the parts; `str(x)` writes them back with trailing empty parts
dropped. Whether a value is acceptable for XDS is `ebrim.validate`'s business.
HL7 escape sequences (``\\S\\``, ``\\T\\``…) are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache


def components(text: str) -> list[str]:
    return text.split("^")


def subcomponents(component: str) -> list[str]:
    return component.split("&")


def _part(parts: list[str], index: int) -> str:
    return parts[index] if index < len(parts) else ""


def _join(parts: list[str], separator: str) -> str:
    while parts and parts[-1] == "":
        parts = parts[:-1]
    return separator.join(parts)


@dataclass(frozen=True)
class HD:
    """Hierarchic designator: namespace id & universal id & universal id type (e.g. ISO)."""

    namespace_id: str = ""
    universal_id: str = ""
    universal_id_type: str = ""

    @classmethod
    def parse(cls, component: str) -> HD:
        parts = subcomponents(component)
        return cls(_part(parts, 0), _part(parts, 1), _part(parts, 2))

    def __str__(self) -> str:
        return _join([self.namespace_id, self.universal_id, self.universal_id_type], "&")

    def __bool__(self) -> bool:
        return bool(self.namespace_id or self.universal_id or self.universal_id_type)


@dataclass(frozen=True)
class CX:
    """Extended composite id: ``id^^^&authorityOID&ISO`` with optional type code (CX.5)."""

    id_number: str
    assigning_authority: HD = HD()
    identifier_type_code: str = ""
    other_components: tuple[tuple[int, str], ...] = ()  # (1-based position, raw) of CX.2/3/6+

    @classmethod
    @lru_cache(maxsize=4096)  # immutable results; one submission parses the same ids often
    def parse(cls, text: str) -> CX:
        parts = components(text)
        others = tuple(
            (i + 1, value) for i, value in enumerate(parts) if i not in (0, 3, 4) and value
        )
        return cls(_part(parts, 0), HD.parse(_part(parts, 3)), _part(parts, 4), others)

    def __str__(self) -> str:
        size = max([5, *(pos for pos, _ in self.other_components)])
        parts = [""] * size
        parts[0], parts[3], parts[4] = (
            self.id_number,
            str(self.assigning_authority),
            self.identifier_type_code,
        )
        for pos, value in self.other_components:
            parts[pos - 1] = value
        return _join(parts, "^")


@lru_cache(maxsize=4096)
def patient_key(value: str) -> str:
    """Who a patient id (CX) names, in one canonical form: ``id^^^&OID&ISO``.

    A patient is its id (CX.1) within its assigning authority (CX.4): the identifier type code
    (CX.5, the DMP's ``NH``) and the other components do not change who it is, and an
    authority with a universal id is that id (its namespace id aside, its type upper-cased).
    Registries compare and store patients by this key; metadata keeps the id as submitted.
    """
    cx = CX.parse(value)
    authority = cx.assigning_authority
    if authority.universal_id:
        kind = (authority.universal_id_type or "ISO").upper()
        authority = HD("", authority.universal_id, kind)
    return f"{cx.id_number}^^^{authority}" if authority else cx.id_number


@dataclass(frozen=True)
class XCN:
    """Extended person name and id: ``id^family^given^middle^suffix^prefix^^^authority``."""

    id_number: str = ""
    family_name: str = ""
    given_name: str = ""
    further_given_names: str = ""
    suffix: str = ""
    prefix: str = ""
    assigning_authority: HD = HD()
    raw: str = ""

    @classmethod
    def parse(cls, text: str) -> XCN:
        parts = components(text)
        return cls(
            id_number=_part(parts, 0),
            family_name=subcomponents(_part(parts, 1))[0],
            given_name=_part(parts, 2),
            further_given_names=_part(parts, 3),
            suffix=_part(parts, 4),
            prefix=_part(parts, 5),
            assigning_authority=HD.parse(_part(parts, 8)),
            raw=text,
        )

    def __str__(self) -> str:
        return self.raw


@dataclass(frozen=True)
class XON:
    """Extended organisation: ``name^^^^^&authority&ISO^^^^orgId`` (XON.1, XON.6, XON.10)."""

    organization_name: str = ""
    assigning_authority: HD = HD()
    organization_identifier: str = ""
    other_components: tuple[tuple[int, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> XON:
        parts = components(text)
        others = tuple(
            (i + 1, value) for i, value in enumerate(parts) if i not in (0, 5, 9) and value
        )
        return cls(_part(parts, 0), HD.parse(_part(parts, 5)), _part(parts, 9), others)

    def __str__(self) -> str:
        size = max([10, *(pos for pos, _ in self.other_components)])
        parts = [""] * size
        parts[0], parts[5], parts[9] = (
            self.organization_name,
            str(self.assigning_authority),
            self.organization_identifier,
        )
        for pos, value in self.other_components:
            parts[pos - 1] = value
        return _join(parts, "^")


@dataclass(frozen=True)
class XTN:
    """Telecom: ``^^Internet^user@host`` for e-mail, or a telephone number."""

    telephone_number: str = ""
    use_code: str = ""
    equipment_type: str = ""
    email: str = ""
    raw: str = ""

    @classmethod
    def parse(cls, text: str) -> XTN:
        parts = components(text)
        return cls(_part(parts, 0), _part(parts, 1), _part(parts, 2), _part(parts, 3), text)

    def __str__(self) -> str:
        return self.raw


def dtm_digits(moment: datetime) -> str:
    """The 14 digits ``YYYYMMDDHHMMSS`` of a DTM to the second (faster than strftime)."""
    return (
        f"{moment.year:04d}{moment.month:02d}{moment.day:02d}"
        f"{moment.hour:02d}{moment.minute:02d}{moment.second:02d}"
    )


def dtm_moment(digits: str) -> datetime:
    """The moment a DTM of 4 to 14 digits names, missing parts at their minimum.

    ValueError when a part is out of range (month 13, 30 February…).
    """
    return datetime(
        int(digits[0:4]),
        int(digits[4:6] or 1),
        int(digits[6:8] or 1),
        int(digits[8:10] or 0),
        int(digits[10:12] or 0),
        int(digits[12:14] or 0),
    )
