"""The replay guard in the database: shared by every process that opens the same database,
on SQLite and PostgreSQL; expired ids are purged; a repository alone keeps its own file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from registry_fixtures import migrated_engine
from sqlalchemy import func, select

from pki.assertion import ReplayedAssertion
from registry.replay import REPLAY_DATABASE, DatabaseReplayGuard, open_replay_guard
from registry.schema import seen_assertions
from registry.storage import create_engine_for

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_an_id_seen_by_one_process_is_a_replay_for_another(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with migrated_engine(backend, tmp_path, request) as engine:
        # A second engine on the same database: what another gunicorn worker holds.
        url = engine.url.render_as_string(hide_password=False)
        schema = None
        if backend == "postgres":
            url = url.replace("postgresql+psycopg2://", "postgresql://")
            with engine.connect() as conn:
                schema = conn.exec_driver_sql("SHOW search_path").scalar()
        other = create_engine_for(url, schema=schema)
        request.addfinalizer(other.dispose)
        DatabaseReplayGuard(engine).check_and_remember("issuer|_a", expires=LATER, now=NOW)
        with pytest.raises(ReplayedAssertion):
            DatabaseReplayGuard(other).check_and_remember("issuer|_a", expires=LATER, now=NOW)
        DatabaseReplayGuard(other).check_and_remember("issuer|_b", expires=LATER, now=NOW)


def test_expired_ids_are_purged(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    with migrated_engine("sqlite", tmp_path, request) as engine:
        guard = DatabaseReplayGuard(engine)
        guard.check_and_remember("issuer|_old", expires=NOW, now=NOW - timedelta(minutes=5))
        guard.check_and_remember("issuer|_new", expires=LATER + timedelta(hours=1), now=LATER)
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(seen_assertions)) == 1
        # Past its expiry the old id is no longer remembered (the verifier refuses it anyway).
        guard.check_and_remember("issuer|_old", expires=LATER, now=LATER)


def test_a_repository_alone_keeps_the_guard_in_its_data_folder(tmp_path: Path) -> None:
    first = open_replay_guard(None, tmp_path)
    second = open_replay_guard(None, tmp_path)
    first.check_and_remember("issuer|_a", expires=LATER, now=NOW)
    with pytest.raises(ReplayedAssertion):
        second.check_and_remember("issuer|_a", expires=LATER, now=NOW)
    assert (tmp_path / REPLAY_DATABASE).exists()
    first.engine.dispose()
    second.engine.dispose()
