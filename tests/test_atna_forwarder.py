"""The audit trail forwarded to a syslog collector over mutual TLS (ITI-20): each event once,
in order, as a schema-valid DICOM audit message; nothing lost while the collector is away."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from atna_support import SyslogCollector, parse_syslog
from dicom_audit import assert_dicom_audit_valid
from policy_support import AUTHORISED, STRANGER, consenting_registry, requester
from security_support import DevPki, make_pki
from sqlalchemy import Engine, select
from test_policy_audit import find, submit

from atna.forwarder import AuditForwarder, ForwarderThread
from atna.message import AuditSource
from atna.senders import TlsSyslogSender
from atna.syslog import SyslogDestination, SyslogError
from registry import Registry
from registry.audit import AuditEvent, Outcome
from registry.records_schema import audit_forwarding

SOURCE = AuditSource(source_id="xds-registry@test", base_url="http://127.0.0.1:8080")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_pki(tmp_path_factory.mktemp("atna"))


@pytest.fixture
def collector(pki: DevPki) -> Iterator[SyslogCollector]:
    with SyslogCollector(pki.server.cert, pki.server.key, pki.ca.chain) as running:
        yield running


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return consenting_registry(engine)


def sender_to(destination: SyslogDestination, pki: DevPki) -> TlsSyslogSender:
    hospital = pki.hospital
    return TlsSyslogSender(
        destination, ca=pki.ca.chain, cert=hospital.tls_cert, key=hospital.tls_key, timeout=5
    )


def forwarder_for(registry: Registry, sender: TlsSyslogSender, **kw: object) -> AuditForwarder:
    return AuditForwarder(registry.engine, sender, SOURCE, hostname="xds.test", **kw)  # type: ignore[arg-type]


def transactions(messages: list[bytes]) -> list[str]:
    codes = []
    for message in messages:
        root = assert_dicom_audit_valid(parse_syslog(message).msg)
        codes.append(root.find("EventIdentification/EventTypeCode").get("csd-code"))
    return codes


def position(registry: Registry, collector: str) -> int | None:
    with registry.engine.connect() as conn:
        query = select(audit_forwarding.c.last_event_id).where(
            audit_forwarding.c.collector == collector
        )
        return conn.execute(query).scalar()


def test_events_reach_the_collector_as_valid_syslog_dicom_messages(
    registry: Registry, collector: SyslogCollector, pki: DevPki
) -> None:
    forwarder = forwarder_for(registry, sender_to(collector.destination, pki))
    forwarder.ensure_cursor()
    submit(registry)
    find(registry, requester(AUTHORISED))

    assert forwarder.drain() == 2

    messages = collector.wait_for(2)
    assert transactions(messages) == ["ITI-42", "ITI-18"]
    record = parse_syslog(messages[0])
    assert (record.pri, record.version, record.msgid) == (85, 1, "IHE+RFC-3881")
    assert (record.hostname, record.app_name) == ("xds.test", "xds-registry")
    assert record.has_bom
    forwarder.sender.close()


def test_a_new_collector_starts_with_the_events_written_from_then_on(
    registry: Registry, collector: SyslogCollector, pki: DevPki
) -> None:
    submit(registry)  # before the collector was configured: stays in the table
    forwarder = forwarder_for(registry, sender_to(collector.destination, pki))
    forwarder.ensure_cursor()
    find(registry, requester(AUTHORISED))

    assert forwarder.drain() == 1

    assert transactions(collector.wait_for(1)) == ["ITI-18"]
    forwarder.sender.close()


def test_each_event_is_sent_once_across_batches(
    registry: Registry, collector: SyslogCollector, pki: DevPki
) -> None:
    forwarder = forwarder_for(registry, sender_to(collector.destination, pki), batch=2)
    forwarder.ensure_cursor()
    for _ in range(5):
        find(registry, requester(AUTHORISED))

    assert forwarder.drain() == 5
    assert forwarder.drain() == 0

    assert len(collector.wait_for(5)) == 5
    time.sleep(0.2)
    assert len(collector.messages) == 5
    forwarder.sender.close()


def test_nothing_is_lost_while_the_collector_is_away(
    registry: Registry, pki: DevPki, collector: SyslogCollector
) -> None:
    destination = collector.destination
    forwarder = forwarder_for(registry, sender_to(destination, pki))
    start = forwarder.ensure_cursor()
    collector.stop()
    find(registry, requester(AUTHORISED))

    with pytest.raises(SyslogError):
        forwarder.forward_once()
    assert position(registry, str(destination)) == start

    find(registry, requester(STRANGER))  # written while the collector is away
    with SyslogCollector(
        pki.server.cert, pki.server.key, pki.ca.chain, port=destination.port
    ) as back:
        assert forwarder.drain() == 2
        assert transactions(back.wait_for(2)) == ["ITI-18", "ITI-18"]
    forwarder.sender.close()


def test_an_event_no_message_describes_is_skipped_not_blocking(
    registry: Registry, collector: SyslogCollector, pki: DevPki
) -> None:
    forwarder = forwarder_for(registry, sender_to(collector.destination, pki))
    forwarder.ensure_cursor()
    registry.record_event(AuditEvent(transaction="ITI-99", outcome=Outcome.SUCCESS))
    find(registry, requester(AUTHORISED))

    assert forwarder.drain() == 2  # both events consumed, one message sent

    assert transactions(collector.wait_for(1)) == ["ITI-18"]
    forwarder.sender.close()


def test_the_thread_forwards_without_being_asked(
    registry: Registry, collector: SyslogCollector, pki: DevPki
) -> None:
    thread = ForwarderThread(
        forwarder_for(registry, sender_to(collector.destination, pki)), interval=0.05
    )
    thread.start()
    try:
        find(registry, requester(AUTHORISED))
        assert transactions(collector.wait_for(1)) == ["ITI-18"]
    finally:
        thread.stop()


def test_a_collector_that_refuses_our_certificate_gets_nothing(
    registry: Registry, collector: SyslogCollector, pki: DevPki
) -> None:
    stranger = pki.stranger
    sender = TlsSyslogSender(
        collector.destination,
        ca=pki.ca.chain,
        cert=stranger.tls_cert,
        key=stranger.tls_key,
        timeout=5,
    )
    forwarder = forwarder_for(registry, sender)
    start = forwarder.ensure_cursor()
    find(registry, requester(AUTHORISED))

    with pytest.raises(SyslogError):
        forwarder.forward_once()

    assert position(registry, str(collector.destination)) == start
    assert collector.messages == []
