"""Who is calling: the development PKI, certificate trust, signed assertions (`pki.assertion`)."""

from pki.devca import (
    CA,
    Establishment,
    ServerCertificate,
    init_ca,
    issue_establishment,
    issue_server,
    load_ca,
    revoke,
)
from pki.structure import from_finess, from_siret, structure_id
from pki.trust import ChainError, is_revoked, verify_signing_chain

__all__ = [
    "CA",
    "ChainError",
    "Establishment",
    "ServerCertificate",
    "from_finess",
    "from_siret",
    "init_ca",
    "is_revoked",
    "issue_establishment",
    "issue_server",
    "load_ca",
    "revoke",
    "structure_id",
    "verify_signing_chain",
]
