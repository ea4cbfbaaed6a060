"""The Document Registry: storage, patient identities, ITI-42 registration, ITI-57 update,
ITI-62 delete and ITI-18 queries.

Public API::

    engine = create_engine_for(settings.database_url, schema=settings.database_schema)
    migrate(engine)
    registry = Registry(engine, settings)
    registry.patients.feed("123^^^&1.2.3&ISO")
    response = registry.register(metadata)
    response = registry.update(metadata, policy=None)   # ITI-57; see registry.status
    response = registry.delete(["urn:uuid:..."])        # ITI-62
    result = registry.query(parse_adhoc_query_request(xml))   # ITI-18: QueryResult
"""

from registry import exchanges_schema as _exchanges  # noqa: F401  (its table, in the metadata)
from registry import portal_schema as _portal  # noqa: F401  (its tables, in the metadata)
from registry.actor import IndexCheckNeeded, Registry, Submitted
from registry.patients import PatientError, Patients
from registry.queries import QueryResult
from registry.settings import RegistrySettings
from registry.storage import create_engine_for, current_revision, head_revision, migrate

__all__ = [
    "IndexCheckNeeded",
    "PatientError",
    "Patients",
    "QueryResult",
    "Registry",
    "RegistrySettings",
    "Submitted",
    "create_engine_for",
    "current_revision",
    "head_revision",
    "migrate",
]
