"""Why a submission is refused: `Rejected` carries the XDSErrors, raised inside the transaction."""

from __future__ import annotations

from collections.abc import Iterable

from ebrim.errors import ErrorCode, XDSError
from ebrim.model import RegistryObject


class Rejected(Exception):
    """The submission cannot be registered; `errors` say why."""

    def __init__(self, errors: Iterable[XDSError]) -> None:
        self.errors: tuple[XDSError, ...] = tuple(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


def error(code: ErrorCode, message: str, location: str) -> XDSError:
    return XDSError(code, message, location)


def describe(obj: RegistryObject) -> str:
    unique_id = getattr(obj, "unique_id", None)
    return f"{type(obj).__name__} {unique_id or obj.entry_uuid}"
