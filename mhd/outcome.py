"""OperationOutcome: how the FHIR endpoints say what went wrong (FHIR R4 OperationOutcome).

An XDS error code, where one applies, travels as the issue's `details` coding in the
system MHD uses for them (``urn:oasis:names:tc:ebxml-regrep:ErrorCode`` as in ITI-65's
examples), so that a consumer that knows XDS reads the same code as over SOAP.
"""

from __future__ import annotations

from typing import Any

XDS_ERROR_SYSTEM = "urn:oasis:names:tc:ebxml-regrep:ErrorCode"


class FhirError(Exception):
    """An HTTP error answered with an OperationOutcome."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str = "processing",
        xds_code: str | None = None,
        more: tuple[tuple[str, str | None], ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.xds_code = xds_code
        self.more = more  # further (message, XDS error code) issues, e.g. a refused ITI-65

    def outcome(self) -> dict[str, Any]:
        outcome = operation_outcome(self.message, code=self.code, xds_code=self.xds_code)
        for message, xds_code in self.more:
            extra = operation_outcome(message, code=self.code, xds_code=xds_code)
            outcome["issue"] += extra["issue"]
        return outcome


def operation_outcome(
    message: str, *, severity: str = "error", code: str = "processing", xds_code: str | None = None
) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": message}
    if xds_code:
        issue["details"] = {"coding": [{"system": XDS_ERROR_SYSTEM, "code": xds_code}]}
    return {"resourceType": "OperationOutcome", "issue": [issue]}


__all__ = ["XDS_ERROR_SYSTEM", "FhirError", "operation_outcome"]
