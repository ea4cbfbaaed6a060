"""The floor for ITI-41: the least an application must do with the same request, bare WSGI.

Run by bench/submit_bench.py under the same gunicorn settings as `xds serve` (2 workers x
4 threads, its `xds_cli.intake` worker class), and under stock gthread for comparison.
Per request it reads the MTOM body, splits the multipart, parses the SOAP part with lxml,
hashes the document (sha-1 and sha-256), writes it to a temp file, fsyncs it, renames it
into place and fsyncs the folder, inserts 16 rows (the number the registry writes for one
document: uniqueIds, document, submission set, association, codes, author, index, audit)
in ONE multi-statement execute with its COMMIT, and answers a Success RegistryResponse.
No validation, no policy, no CDA check, no error handling worth the name: a floor, not a
server.

Settings from the environment: FLOOR_DSN (PostgreSQL, with the schema in its search_path
options), FLOOR_DIR (where files go).
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import psycopg2
from lxml import etree

ROWS = 16
SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS floor_rows (
    id BIGSERIAL PRIMARY KEY,
    kind VARCHAR(32) NOT NULL,
    key VARCHAR(128) NOT NULL,
    value VARCHAR(256),
    body TEXT
);
CREATE INDEX IF NOT EXISTS ix_floor_rows_key ON floor_rows (key);
"""
ANSWER = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    b'xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>'
    b"<a:Action>urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse</a:Action>"
    b"</s:Header><s:Body>"
    b'<rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" '
    b'status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"/>'
    b"</s:Body></s:Envelope>"
)
_local = threading.local()


def _connection() -> Any:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = psycopg2.connect(os.environ["FLOOR_DSN"])
        connection.autocommit = True
        _local.connection = connection
    return connection


def _parts(body: bytes, content_type: str) -> list[bytes]:
    boundary = content_type.split('boundary="', 1)[1].split('"', 1)[0].encode()
    parts = []
    for chunk in body.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        _head, _, content = chunk.partition(b"\r\n\r\n")
        parts.append(content[:-2] if content.endswith(b"\r\n") else content)
    return parts


def _store(document: bytes) -> tuple[str, str]:
    folder = os.environ["FLOOR_DIR"]
    sha1, sha256 = hashlib.sha1(document).hexdigest(), hashlib.sha256(document).hexdigest()
    temp = os.path.join(folder, f"tmp-{uuid.uuid4().hex}")
    with open(temp, "wb") as file:
        file.write(document)
        file.flush()
        os.fsync(file.fileno())
    os.rename(temp, os.path.join(folder, uuid.uuid4().hex))
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return sha1, sha256


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    soap, document = _parts(body, environ.get("CONTENT_TYPE", ""))[:2]
    root = etree.fromstring(soap, etree.XMLParser(resolve_entities=False, no_network=True))
    metadata = etree.tostring(root)[:3000].decode("utf-8", "replace")
    sha1, sha256 = _store(document)
    key = uuid.uuid4().hex
    with _connection().cursor() as cursor:
        statements = [
            cursor.mogrify(
                "INSERT INTO floor_rows (kind, key, value, body) VALUES (%s, %s, %s, %s)",
                (f"row{i}", key, sha1 if i else sha256, metadata if i < 3 else None),
            )
            for i in range(ROWS)
        ]
        cursor.execute(b"BEGIN;" + b";".join(statements) + b";COMMIT")  # one round trip
    headers = [("Content-Type", "application/soap+xml; charset=UTF-8")]
    start_response("200 OK", [*headers, ("Content-Length", str(len(ANSWER)))])
    return [ANSWER]
