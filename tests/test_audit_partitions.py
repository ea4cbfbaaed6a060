"""The audit trail by month on PostgreSQL (revision 0011, `registry.audit_partitions`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from registry_fixtures import empty_engine

from registry import migrate
from registry.audit import AuditEvent, Outcome, write_event
from registry.audit_partitions import MonthKeeper, ensure_ahead, months, partition_name
from registry.storage import write_transaction
from xds_cli.settings import ServeSettings
from xds_cli.side import start_month_keeper, wanted


@pytest.fixture
def engine(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    with empty_engine("postgres", tmp_path, request) as engine:
        yield engine


def event(patient: str = "P1^^^&1.2.3&ISO") -> AuditEvent:
    return AuditEvent(transaction="ITI-18", outcome=Outcome.SUCCESS, patient_id=patient)


def home_of(engine: sa.Engine, event_id: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                sa.text("SELECT tableoid::regclass::text FROM audit_events WHERE id = :i"),
                {"i": event_id},
            ).scalar_one()
        )


def write(engine: sa.Engine, when: datetime) -> int:
    with write_transaction(engine) as conn:
        write_event(conn, event(), when)
        return int(conn.execute(sa.text("SELECT max(id) FROM audit_events")).scalar_one())


def test_months_cover_first_to_last_across_a_year_end() -> None:
    spans = list(months(datetime(2026, 11, 20, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC)))
    assert [partition_name(start) for start, _ in spans] == [
        "audit_events_y2026m11",
        "audit_events_y2026m12",
        "audit_events_y2027m01",
    ]
    assert spans[1] == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def test_an_event_lands_in_its_month_and_one_past_the_partitions_in_default(
    engine: sa.Engine,
) -> None:
    migrate(engine)
    now = datetime.now(UTC)
    assert home_of(engine, write(engine, now)) == partition_name(now)
    far = datetime(now.year + 5, 6, 1, tzinfo=UTC)
    assert home_of(engine, write(engine, far)) == "audit_events_default"
    with engine.connect() as conn:
        key = conn.execute(sa.text("SELECT pg_get_partkeydef('audit_events'::regclass)"))
        assert key.scalar_one() == "RANGE (occurred_at)"


def test_the_trail_stays_append_only(engine: sa.Engine) -> None:
    migrate(engine)
    write(engine, datetime.now(UTC))
    for statement in ("UPDATE audit_events SET outcome = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))


def test_ensure_ahead_makes_the_coming_months_once(
    engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    migrate(engine)
    later = datetime(datetime.now(UTC).year + 2, 3, 15, tzinfo=UTC)
    stray = write(engine, datetime(later.year, 4, 2, tzinfo=UTC))  # to DEFAULT: no April yet
    with caplog.at_level(logging.WARNING, logger="registry.audit_partitions"):
        ensure_ahead(engine, later, ahead=2)
        ensure_ahead(engine, later, ahead=2)  # again: nothing to do, nothing fails
    assert home_of(engine, write(engine, later)) == partition_name(later)
    may = datetime(later.year, 5, 9, tzinfo=UTC)
    assert home_of(engine, write(engine, may)) == partition_name(may)
    # April's events were already in DEFAULT: PostgreSQL refuses that month; they stay found.
    assert home_of(engine, stray) == "audit_events_default"
    assert f"no partition for audit_events_y{later.year}m04" in caplog.text


def test_migration_0011_keeps_events_ids_and_their_sequence(engine: sa.Engine) -> None:
    migrate(engine, "0010")
    old = [datetime(2025, 3, 15, tzinfo=UTC), datetime(2025, 11, 30, 23, 59, tzinfo=UTC)]
    ids = [write(engine, when) for when in old]
    migrate(engine)
    assert [home_of(engine, i) for i in ids] == [
        "audit_events_y2025m03",
        "audit_events_y2025m11",
    ]
    with engine.connect() as conn:
        months_made = conn.execute(
            sa.text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit_events'::regclass")
        ).scalar_one()
    assert months_made >= 12  # March 2025 through this month and three ahead, and DEFAULT
    assert write(engine, datetime.now(UTC)) > max(ids)


def test_the_month_keeper_makes_a_missing_month_and_stops(engine: sa.Engine) -> None:
    migrate(engine)
    now = datetime.now(UTC)
    spans = list(months(now, datetime(now.year + 1, now.month, 1, tzinfo=UTC)))
    coming = partition_name(spans[2][0])  # two months ahead: made by the migration
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {coming}"))
    keeper = MonthKeeper(engine, interval=0.2)  # the first turn comes one interval after start
    keeper.start()
    deadline = time.monotonic() + 10
    while coming not in sa.inspect(engine).get_table_names() and time.monotonic() < deadline:
        time.sleep(0.05)
    keeper.interval = 3600  # its next wait is long: stop must interrupt it
    time.sleep(0.5)
    started = time.monotonic()
    keeper.stop()
    assert time.monotonic() - started < 2  # the wait is interrupted, not slept out
    assert coming in sa.inspect(engine).get_table_names()


def test_the_side_process_keeps_months_on_postgresql_only(
    engine: sa.Engine, postgres_url: str, tmp_path: Path
) -> None:
    migrate(engine)
    with engine.connect() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    sqlite = ServeSettings(database_url=f"sqlite:///{tmp_path / 'r.sqlite'}", data_folder=tmp_path)
    assert start_month_keeper(sqlite) is None
    keeper = start_month_keeper(
        ServeSettings(database_url=postgres_url, database_schema=schema, data_folder=tmp_path)
    )
    assert isinstance(keeper, MonthKeeper)
    keeper.stop()


def test_the_side_process_runs_for_the_months_alone_on_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    quiet = {"mllp_port": 0, "audit_syslog": None, "data_folder": tmp_path}
    sqlite = ServeSettings(database_url=f"sqlite:///{tmp_path / 'r.sqlite'}", **quiet)

    assert wanted(ServeSettings(database_url=postgres_url, **quiet))  # the month keeper
    assert not wanted(sqlite)
    assert wanted(
        ServeSettings(database_url=f"sqlite:///{tmp_path / 'r.sqlite'}", data_folder=tmp_path)
    )
