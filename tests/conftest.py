"""Shared fixtures: the official schemas and examples copied under tests/data, and the databases."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import Engine

import cda

DATA = Path(__file__).resolve().parent / "data"
IHE = DATA / "ihe"
CDA_EXAMPLES = DATA / "cda" / "examples"
CDA_SCHEMA = Path(cda.__file__).parent / "schema"  # shipped: the console validates CDA

# libxml2 reads the catalog variable when it first resolves a URI; xml.xsd must come from disk.
os.environ.setdefault("XML_CATALOG_FILES", str(IHE / "schema" / "catalog.xml"))
# Four partitions per table in the tests (the default is 16): each PostgreSQL test migrates
# its own schema, and creating partitions is most of that time. Pruning is the same.
os.environ.setdefault("XDS_PATIENT_PARTITIONS", "4")

from lxml import etree  # noqa: E402  (after the catalog variable is set)
from registry_fixtures import BACKENDS, migrated_engine  # noqa: E402

SCHEMAS = {
    "rim": IHE / "schema" / "ebRS" / "rim.xsd",
    "rs": IHE / "schema" / "ebRS" / "rs.xsd",
    "lcm": IHE / "schema" / "ebRS" / "lcm.xsd",
    "query": IHE / "schema" / "ebRS" / "query.xsd",
    "xdsb": IHE / "schema" / "IHE" / "XDS.b_DocumentRepository.xsd",
    "rmd": IHE / "schema" / "IHE" / "RMD.xsd",
}


@cache
def load_schema(name: str) -> etree.XMLSchema:
    # Trusted files of the repository: a plain parser is fine here.
    return etree.XMLSchema(etree.parse(str(SCHEMAS[name])))


def assert_valid(element: etree._Element, schema: str) -> None:
    """Fail with the schema's own messages when `element` does not validate."""
    xsd = load_schema(schema)
    if not xsd.validate(element):
        messages = "\n".join(str(e) for e in xsd.error_log)
        raise AssertionError(f"not valid against {schema}.xsd:\n{messages}")


@pytest.fixture
def xsd_valid() -> Callable[[etree._Element, str], None]:
    """`xsd_valid(element, "lcm")` asserts that element validates against the named official XSD."""
    return assert_valid


@pytest.fixture
def ihe_example() -> Callable[[str], bytes]:
    """Bytes of one of the official example messages in tests/data/ihe/examples."""

    def read(name: str) -> bytes:
        return (IHE / "examples" / name).read_bytes()

    return read


@pytest.fixture
def test_data() -> Callable[[str], bytes]:
    """Bytes of a fixture under tests/data."""

    def read(name: str) -> bytes:
        return (DATA / name).read_bytes()

    return read


POSTGRES_URL = os.environ.get("XDS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL server; a test that needs it errors (never skips) when it is down."""
    import psycopg2

    try:
        psycopg2.connect(POSTGRES_URL, connect_timeout=5).close()
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL tests cannot run: {POSTGRES_URL} unreachable ({exc})")
    return POSTGRES_URL


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated registry database, once per backend (a module may define its own `engine`)."""
    with migrated_engine(request.param, tmp_path, request) as migrated:
        yield migrated


@pytest.fixture
def postgres_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated registry database on PostgreSQL only (for the PostgreSQL code paths)."""
    with migrated_engine("postgres", tmp_path, request) as migrated:
        yield migrated
