"""What a SOAP exchange can raise on the client side.

Exception tree::

    ClientError             the exchange did not produce a usable answer
    ├── TransportError      connection refused, timeout, an HTTP error without a SOAP body
    └── FaultError          the service answered a SOAP 1.2 fault (code, subcodes, reason)

A RegistryResponse with status Failure is an answer, not an exception: callers read it.
"""

from __future__ import annotations


class ClientError(Exception):
    """The exchange failed; `str()` says why."""


class TransportError(ClientError):
    """No SOAP answer: the server could not be reached, timed out, or answered something else."""


class FaultError(ClientError):
    """A SOAP fault: `code` (`Sender`…), `subcodes` (`wsa:ActionNotSupported`…), `reason`."""

    def __init__(
        self, code: str, reason: str, *, subcodes: tuple[str, ...] = (), http_status: int = 0
    ) -> None:
        detail = f" ({', '.join(subcodes)})" if subcodes else ""
        super().__init__(f"SOAP fault {code}{detail}: {reason}")
        self.code = code
        self.reason = reason
        self.subcodes = subcodes
        self.http_status = http_status


__all__ = ["ClientError", "FaultError", "TransportError"]
