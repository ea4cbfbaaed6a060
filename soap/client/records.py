"""Record management from the client side: the operations of `/xds/records` (our own).

Each method sends one `soap.records_xml` request and returns the `RecordAnswer`; a
refusal (policy, record state) is an answer with `success` False, not an exception.
"""

from __future__ import annotations

from datetime import datetime

from registry.records import GranteeKind
from soap.client.errors import ClientError
from soap.client.exchange import SoapExchange
from soap.records_xml import (
    RecordAction,
    RecordAnswer,
    RecordRequest,
    RecordRequestError,
    parse_answer,
    render_request,
)

RECORDS_PATH = "/xds/records"


class RecordsClient:
    """The patient's record on one registry: consent, authorisations, blocks, history."""

    def __init__(self, url: str, exchange: SoapExchange) -> None:
        self.url = url
        self.exchange = exchange

    def call(self, request: RecordRequest) -> RecordAnswer:
        payload = render_request(request)
        answer = self.exchange.call(self.url, request.action.soap_action, payload)
        try:
            return parse_answer(answer.payload)
        except (RecordRequestError, ValueError) as exc:
            raise ClientError(f"unreadable RecordResponse: {exc}") from exc
        finally:
            answer.close()

    def open(self, patient_id: str, *, by: str | None = None) -> RecordAnswer:
        return self.call(RecordRequest(RecordAction.OPEN, patient_id, by=by))

    def reopen(self, patient_id: str, *, by: str | None = None) -> RecordAnswer:
        return self.call(RecordRequest(RecordAction.REOPEN, patient_id, by=by))

    def close(self, patient_id: str, *, by: str | None = None) -> RecordAnswer:
        return self.call(RecordRequest(RecordAction.CLOSE, patient_id, by=by))

    def grant(
        self,
        patient_id: str,
        grantee_id: str,
        *,
        kind: GranteeKind = GranteeKind.PROFESSIONAL,
        expires_at: datetime | None = None,
        by: str | None = None,
    ) -> RecordAnswer:
        request = RecordRequest(
            RecordAction.GRANT, patient_id, grantee_id, kind, expires_at=expires_at, by=by
        )
        return self.call(request)

    def revoke(
        self,
        patient_id: str,
        grantee_id: str,
        *,
        kind: GranteeKind = GranteeKind.PROFESSIONAL,
        by: str | None = None,
    ) -> RecordAnswer:
        return self.call(RecordRequest(RecordAction.REVOKE, patient_id, grantee_id, kind, by=by))

    def block(
        self, patient_id: str, professional_id: str, *, by: str | None = None
    ) -> RecordAnswer:
        return self.call(RecordRequest(RecordAction.BLOCK, patient_id, professional_id, by=by))

    def unblock(
        self, patient_id: str, professional_id: str, *, by: str | None = None
    ) -> RecordAnswer:
        return self.call(RecordRequest(RecordAction.UNBLOCK, patient_id, professional_id, by=by))

    def oppose_emergency_access(
        self, patient_id: str, opposed: bool = True, *, by: str | None = None
    ) -> RecordAnswer:
        action = RecordAction.OPPOSE_EMERGENCY_ACCESS
        return self.call(RecordRequest(action, patient_id, opposed=opposed, by=by))

    def history(self, patient_id: str) -> RecordAnswer:
        return self.call(RecordRequest(RecordAction.ACCESS_HISTORY, patient_id))


__all__ = ["RECORDS_PATH", "RecordsClient"]
