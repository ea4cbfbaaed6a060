"""The test environment itself: PostgreSQL-backed tests must run, never be skipped."""

from __future__ import annotations

import psycopg2


def test_postgres_server_answers_queries(postgres_url: str) -> None:
    with psycopg2.connect(postgres_url) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        (version,) = cursor.fetchone()
    assert int(version) >= 130000, "the registry needs PostgreSQL 13 or newer"
