"""The registry's tables (SQLAlchemy Core), one schema for SQLite and PostgreSQL.

Each object kind has its own table: the columns stored queries filter on, indexed,
and `body`, the whole object as registered (JSON, see `registry.codec`) so that
LeafClass answers need no reassembly. The mutable attributes (status, patient id
after a merge, folder lastUpdateTime) live in their columns, which win over `body`.
Side tables hold the multi-valued attributes queries filter on: codes, author
persons, reference ids. `unique_ids` holds one row per logical object so that the
database itself refuses a second registration of a uniqueId, even under concurrency.
Its key includes the kind: a document may share its uniqueId with a submission set
(their namespaces differ, and Connectathon submissions do this).

Revision 0010, national scale: on PostgreSQL the object and side tables are partitioned by
a hash of the patient (`PARTITIONED`, `registry.partitions`), so that a query about one
patient reads one partition, and each key includes `patient_id` (a partitioned table's
keys must). Two narrow global tables route a lookup by id to its partition: `unique_ids`
(uniqueId -> patient) and `object_patients` (entryUUID -> patient), whose key also keeps
every entryUUID unique across kinds and partitions. The same column is the distribution
column of a sharded PostgreSQL (README, design notes). SQLite keeps plain tables.

Revision 0012 keeps only the indexes that patient-scoped queries use: the times, source ids,
codes and author persons are filtered within the patient's rows, never searched across
patients, and an index on them only cost writes and misled the planner (see `codes`).

Times are normalised DTMs (`registry.times`). The Alembic migrations under
`registry/migrations` create exactly these tables; a test compares the two.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

UUID = String(64)  # "urn:uuid:" + 36
OID = String(128)  # uniqueIds (OID^extension), repository ids, source ids
PID = String(256)  # HL7 CX
DTM = String(14)  # normalised YYYYMMDDHHMMSS, UTC
URN = String(128)
BY_PATIENT = "HASH (patient_id)"

patients = Table(
    "patients",
    metadata,
    Column("patient_id", PID, primary_key=True),
    Column("merged_into", PID, ForeignKey("patients.patient_id"), nullable=True, index=True),
    Column("demographics", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

unique_ids = Table(
    "unique_ids",
    metadata,
    Column("unique_id", OID, primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("logical_id", UUID, nullable=False),
    Column("patient_id", PID, nullable=False),  # revision 0010: where its objects are
)

# Revision 0010: the partition of every stored object (document, submission set, folder,
# association), found by entryUUID without asking every partition.
object_patients = Table(
    "object_patients",
    metadata,
    Column("entry_uuid", UUID, primary_key=True),
    Column("patient_id", PID, nullable=False),
)

documents = Table(
    "documents",
    metadata,
    Column("entry_uuid", UUID, primary_key=True),
    Column("logical_id", UUID, nullable=False),
    Column("version", Integer, nullable=False),
    Column("unique_id", OID, nullable=False, index=True),
    Column("patient_id", PID, primary_key=True),
    Column("status", URN, nullable=False),
    Column("object_type", URN, nullable=False),
    Column("creation_time", DTM, nullable=True),
    Column("service_start_time", DTM, nullable=True),
    Column("service_stop_time", DTM, nullable=True),
    Column("hash", String(64), nullable=True),
    Column("size", BigInteger, nullable=True),
    Column("repository_unique_id", OID, nullable=True, index=True),
    Column("home", URN, nullable=True),
    Column("body", Text, nullable=False),
    Index("ix_documents_patient", "patient_id", "status", "object_type"),
    # revision 0013: led by the patient (`registry.queries.levels` probes it per row)
    Index("uq_documents_logical_version", "patient_id", "logical_id", "version", unique=True),
    postgresql_partition_by=BY_PATIENT,
)

submission_sets = Table(
    "submission_sets",
    metadata,
    Column("entry_uuid", UUID, primary_key=True),
    Column("unique_id", OID, nullable=False, index=True),
    Column("patient_id", PID, primary_key=True),
    Column("status", URN, nullable=False),
    Column("source_id", OID, nullable=True),
    Column("submission_time", DTM, nullable=True),
    Column("home", URN, nullable=True),
    Column("body", Text, nullable=False),
    Index("ix_submission_sets_patient", "patient_id", "status"),
    postgresql_partition_by=BY_PATIENT,
)

folders = Table(
    "folders",
    metadata,
    Column("entry_uuid", UUID, primary_key=True),
    Column("logical_id", UUID, nullable=False),
    Column("version", Integer, nullable=False),
    Column("unique_id", OID, nullable=False, index=True),
    Column("patient_id", PID, primary_key=True),
    Column("status", URN, nullable=False),
    Column("last_update_time", DTM, nullable=True),
    Column("home", URN, nullable=True),
    Column("body", Text, nullable=False),
    Index("ix_folders_patient", "patient_id", "status"),
    # revision 0013: led by the patient (`registry.queries.levels` probes it per row)
    Index("uq_folders_logical_version", "patient_id", "logical_id", "version", unique=True),
    postgresql_partition_by=BY_PATIENT,
)

associations = Table(
    "associations",
    metadata,
    Column("entry_uuid", UUID, primary_key=True),
    Column("association_type", URN, nullable=False),
    Column("source_uuid", UUID, nullable=False),
    Column("target_uuid", UUID, nullable=False),
    Column("status", URN, nullable=False),
    Column("submission_set_status", String(16), nullable=True),
    Column("home", URN, nullable=True),
    Column("body", Text, nullable=False),
    # Revision 0010: the patient of the objects it links (its source's).
    Column("patient_id", PID, primary_key=True),
    Index("ix_associations_source", "source_uuid", "association_type"),
    Index("ix_associations_target", "target_uuid", "association_type"),
    postgresql_partition_by=BY_PATIENT,
)

# A code of a document, submission set or folder: `scheme` is the classification
# scheme (which attribute), `coding_scheme` the code system.
#
# Revision 0012: the side tables have no primary key, only an index on their owner. A key
# over every column was the widest index of the registry (about 2 GB per million documents
# for `codes`, 45 % of that table), while each query reaches side rows through their owner
# and `store.side_rows` already writes each row once; the owner's index, deduplicated by
# PostgreSQL, is a fifteenth of that size. The indexes by code and by author person went
# too: every query names a patient, and PostgreSQL, misjudging how many rows share a code,
# intersected the code's thousands of rows with the owner's eight (42 ms instead of 0.5 at a
# million documents). Reference ids keep theirs: an id is rare, so it only ever narrows.
# Logical replication of these tables needs REPLICA IDENTITY FULL (README, design notes).
#
# Revision 0013: that index is led by the owner's patient, (patient_id, object_uuid), so that
# one patient's side rows are neighbours in it (`registry.queries.filters.owned_by`).
codes = Table(
    "codes",
    metadata,
    Column("object_uuid", UUID, nullable=False),
    Column("scheme", UUID, nullable=False),
    Column("code", String(256), nullable=False),
    Column("coding_scheme", String(256), nullable=False),
    Column("patient_id", PID, nullable=False),  # revision 0010: its object's
    Index("ix_codes_owner", "patient_id", "object_uuid"),
    postgresql_partition_by=BY_PATIENT,
)

author_persons = Table(
    "author_persons",
    metadata,
    Column("object_uuid", UUID, nullable=False),
    Column("person", String(512), nullable=False),
    Column("patient_id", PID, nullable=False),  # revision 0010: its object's
    Index("ix_author_persons_owner", "patient_id", "object_uuid"),
    postgresql_partition_by=BY_PATIENT,
)

reference_ids = Table(
    "reference_ids",
    metadata,
    Column("object_uuid", UUID, nullable=False),
    Column("reference_id", String(512), nullable=False),
    Column("patient_id", PID, nullable=False),  # revision 0010: its object's
    Index("ix_reference_ids_owner", "patient_id", "object_uuid"),
    Index("ix_reference_ids_reference_id", "reference_id"),
    postgresql_partition_by=BY_PATIENT,
)

# Assertion ids already accepted (the WS-Security replay guard, `registry.replay`): one row
# per (Issuer, ID), keyed by its sha-256 so that the database refuses a second insert
# whichever worker or host tries; rows go once the assertion would have expired anyway.
seen_assertions = Table(
    "seen_assertions",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("expires_at", BigInteger, nullable=False, index=True),
)

# Revision 0005: the document repository's index, uniqueId -> stored object. A repository
# beside its registry writes its rows in the registry's own transaction (ITI-41), so a
# document is registered exactly when its bytes are findable; a repository serving alone
# keeps them in a database of its own, `pending` until the registry has answered.
repository_documents = Table(
    "repository_documents",
    metadata,
    Column("repository_unique_id", OID, primary_key=True),
    Column("unique_id", OID, primary_key=True),
    Column("object_key", String(96), nullable=False, index=True),  # path under objects/
    Column("hash", String(40), nullable=False),  # sha-1, as XDS metadata carries it
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("mime_type", String(128), nullable=False),
    Column("state", String(8), nullable=False),  # stored / pending
)

OBJECT_TABLES = (documents, submission_sets, folders, associations)
SIDE_TABLES = (codes, author_persons, reference_ids)
PARTITIONED = (*OBJECT_TABLES, *SIDE_TABLES)
