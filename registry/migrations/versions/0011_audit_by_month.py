"""The audit trail partitioned by month (PostgreSQL).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

`audit_events` becomes `PARTITION BY RANGE (occurred_at)`: one partition per calendar
month (UTC) from the oldest event's through three months ahead, and a DEFAULT partition
(`registry.audit_partitions`; `xds serve` makes the coming months' at every start). Its
key becomes (id, occurred_at), as a partitioned table's must; ids keep their sequence.
The events are copied in this transaction; the trail stays append-only (the trigger is
made again on the partitioned table). SQLite: unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import op
from sqlalchemy import text

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OLD = "audit_events_before_0011"
AHEAD = 3


def _months(first: datetime, last: datetime) -> list[tuple[datetime, datetime]]:
    out = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        start = datetime(year, month, 1, tzinfo=UTC)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        out.append((start, datetime(year, month, 1, tzinfo=UTC)))
    return out


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    now = datetime.now(UTC)
    oldest = conn.execute(text("SELECT min(occurred_at) FROM audit_events")).scalar()
    first = min(oldest.astimezone(UTC), now) if oldest is not None else now
    last = now
    for _ in range(AHEAD):
        last = datetime(last.year + last.month // 12, last.month % 12 + 1, 1, tzinfo=UTC)
    for statement in (
        f"ALTER TABLE audit_events RENAME TO {OLD}",
        f"ALTER TABLE {OLD} RENAME CONSTRAINT pk_audit_events TO pk_{OLD}",
        f"ALTER INDEX ix_audit_events_patient RENAME TO ix_{OLD}_patient",
        f"CREATE TABLE audit_events (LIKE {OLD} INCLUDING DEFAULTS) "
        "PARTITION BY RANGE (occurred_at)",
        "ALTER TABLE audit_events ADD CONSTRAINT pk_audit_events PRIMARY KEY (id, occurred_at)",
        # The ids' sequence now belongs to the new table (dropping the old keeps it).
        "ALTER SEQUENCE audit_events_id_seq OWNED BY audit_events.id",
        "CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT",
    ):
        op.execute(statement)
    for start, end in _months(first, last):
        op.execute(
            f"CREATE TABLE audit_events_y{start.year:04d}m{start.month:02d} "
            f"PARTITION OF audit_events "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    op.execute("CREATE INDEX ix_audit_events_patient ON audit_events (patient_id, occurred_at)")
    op.execute(f"INSERT INTO audit_events SELECT * FROM {OLD}")
    op.execute(f"DROP TABLE {OLD}")
    op.execute(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    )


def downgrade() -> None:
    raise NotImplementedError("revision 0011 (the audit trail by month) is not reversible")
