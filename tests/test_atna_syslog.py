"""The syslog transport of audit messages (ITI-20): RFC 5424 messages, RFC 5425 framing over
mutual TLS, RFC 5426 datagrams, all against loopback collectors with the dev PKI."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from atna_support import FrameReader, SyslogCollector, UdpCollector, parse_syslog
from security_support import DevPki, make_pki

from atna.senders import TlsSyslogSender, UdpSyslogSender, open_sender
from atna.syslog import (
    SyslogDestination,
    SyslogError,
    octet_frame,
    parse_destination,
    syslog_message,
)
from pki import issue_server, load_ca

WHEN = datetime(2024, 3, 5, 14, 7, 9, 123456, tzinfo=UTC)
BOM = b"\xef\xbb\xbf"
SECRET = b"<AuditMessage>INS 279035121518989 DUPONT Jean</AuditMessage>"
TLS_VERSIONS = [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_pki(tmp_path_factory.mktemp("syslog"))


@pytest.fixture
def collector(pki: DevPki) -> Iterator[SyslogCollector]:
    with SyslogCollector(pki.server.cert, pki.server.key, pki.ca.chain) as running:
        yield running


@pytest.fixture
def udp_collector() -> Iterator[UdpCollector]:
    with UdpCollector() as running:
        yield running


def hospital_sender(pki: DevPki, destination: SyslogDestination) -> TlsSyslogSender:
    hospital = pki.hospital
    return TlsSyslogSender(
        destination, ca=pki.ca.chain, cert=hospital.tls_cert, key=hospital.tls_key, timeout=5
    )


@pytest.fixture
def sender(pki: DevPki, collector: SyslogCollector) -> Iterator[TlsSyslogSender]:
    sender = hospital_sender(pki, collector.destination)
    yield sender
    sender.close()


def message(text: str = "<AuditMessage/>") -> bytes:
    return syslog_message(
        text.encode(), timestamp=WHEN, hostname="xds.test", app_name="xds-registry", procid="42"
    )


# RFC 5424 messages


def test_syslog_message_is_exactly_the_iti20_header_then_bom_and_msg() -> None:
    assert message("<AuditMessage/>") == (
        b"<85>1 2024-03-05T14:07:09.123456Z xds.test xds-registry 42 IHE+RFC-3881 - "
        + BOM
        + b"<AuditMessage/>"
    )


def test_syslog_message_uses_nilvalue_for_absent_or_empty_fields() -> None:
    raw = syslog_message(b"x", timestamp=WHEN, hostname=None, app_name="", procid=None, msgid="")

    assert raw == b"<85>1 2024-03-05T14:07:09.123456Z - - - - - " + BOM + b"x"


def test_syslog_message_computes_pri_from_facility_and_severity() -> None:
    raw = syslog_message(
        b"x", timestamp=WHEN, hostname="h", app_name="a", procid="p", facility=4, severity=2
    )

    assert parse_syslog(raw).pri == 34


@pytest.mark.parametrize(("facility", "severity"), [(24, 5), (-1, 5), (10, 8), (10, -1)])
def test_syslog_message_rejects_priority_out_of_range(facility: int, severity: int) -> None:
    with pytest.raises(ValueError, match="facility"):
        syslog_message(
            b"x", timestamp=WHEN, hostname="h", app_name="a", procid="p",
            facility=facility, severity=severity,
        )  # fmt: skip


def test_syslog_message_converts_aware_timestamp_to_utc() -> None:
    paris = WHEN.astimezone(timezone(timedelta(hours=1)))

    raw = syslog_message(b"x", timestamp=paris, hostname="h", app_name="a", procid="p")

    assert parse_syslog(raw).timestamp == "2024-03-05T14:07:09.123456Z"


def test_syslog_message_takes_naive_timestamp_as_utc() -> None:
    naive = datetime(2024, 3, 5, 14, 7, 9)

    raw = syslog_message(b"x", timestamp=naive, hostname="h", app_name="a", procid="p")

    assert parse_syslog(raw).timestamp == "2024-03-05T14:07:09.000000Z"


@pytest.mark.parametrize(
    ("field", "limit"), [("hostname", 255), ("app_name", 48), ("procid", 128), ("msgid", 32)]
)
def test_syslog_message_truncates_header_field_to_rfc_length(field: str, limit: int) -> None:
    fields: dict[str, Any] = {"hostname": "h", "app_name": "a", "procid": "p", "msgid": "m"}
    fields[field] = "x" * (limit + 10)

    record = parse_syslog(syslog_message(b"x", timestamp=WHEN, **fields))

    assert getattr(record, field) == "x" * limit


def test_syslog_message_drops_spaces_controls_and_non_ascii_from_header_fields() -> None:
    raw = syslog_message(
        b"x", timestamp=WHEN, hostname="hôpital nord\n.fr", app_name="xds\tregistry",
        procid="é", msgid="IHE+RFC-3881",
    )  # fmt: skip

    record = parse_syslog(raw)

    assert (record.hostname, record.app_name, record.procid) == (
        "hpitalnord.fr",
        "xdsregistry",
        "-",
    )


def test_syslog_message_keeps_utf8_msg_intact_after_one_bom() -> None:
    text = "<AuditMessage>Hélène Çavaré</AuditMessage>".encode()

    record = parse_syslog(
        syslog_message(BOM + text, timestamp=WHEN, hostname="h", app_name="a", procid="p")
    )

    assert (record.has_bom, record.msg, record.structured_data) == (True, text, "-")


def test_syslog_message_rejects_msg_that_is_not_utf8() -> None:
    with pytest.raises(ValueError, match="UTF-8"):
        syslog_message(
            "Hélène".encode("latin-1"), timestamp=WHEN, hostname="h", app_name="a", procid="p"
        )


@pytest.mark.parametrize(
    "raw",
    [
        b"<85> 2024-03-05T14:07:09Z h a p m - x",  # no version
        b"<192>1 2024-03-05T14:07:09Z h a p m - x",  # PRI too high
        b"<85>1 2024-03-05 14:07:09 h a p m - x",  # not RFC 3339
        b"<85>1 2024-13-05T14:07:09Z h a p m - x",  # month 13
        b"<85>1 2024-03-05T14:07:09Z h a p - x",  # a field missing
        b"<85>1 2024-03-05T14:07:09Z h a p m [bad id=1] x",  # unquoted SD-PARAM value
        b"<85>1 2024-03-05T14:07:09Z h a p m -x",  # no SP before MSG
        b"<85>1 2024-03-05T14:07:09Z h a p m - " + BOM + b"\xff",  # BOM then not UTF-8
    ],
)
def test_parse_syslog_rejects_message_outside_rfc5424(raw: bytes) -> None:
    with pytest.raises(AssertionError):
        parse_syslog(raw)


def test_parse_syslog_accepts_structured_data() -> None:
    record = parse_syslog(b'<85>1 - h a p m [id@1 k="v \\"q\\" \\]"][x@2] hello')

    assert (record.structured_data, record.msg, record.has_bom) == (
        '[id@1 k="v \\"q\\" \\]"][x@2]',
        b"hello",
        False,
    )


# RFC 5425 framing


def test_octet_frame_counts_octets_not_characters() -> None:
    body = "é".encode()

    assert octet_frame(body) == b"2 \xc3\xa9"


def test_frame_reader_reassembles_frames_cut_anywhere() -> None:
    stream = octet_frame(b"first") + octet_frame(b"2") + octet_frame(b"x" * 300)
    reader = FrameReader()

    frames = [frame for i in range(len(stream)) for frame in reader.feed(stream[i : i + 1])]

    assert frames == [b"first", b"2", b"x" * 300]
    assert reader.pending == 0


def test_octet_frame_refuses_empty_message() -> None:
    with pytest.raises(ValueError, match="MSG-LEN"):
        octet_frame(b"")


@pytest.mark.parametrize("stream", [b"0 ", b"01 x", b"12x ", b"12345678901"])
def test_frame_reader_rejects_malformed_msg_len(stream: bytes) -> None:
    with pytest.raises(ValueError, match="MSG-LEN"):
        FrameReader().feed(stream)


# Destinations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tls://collector.example:6514", SyslogDestination("tls", "collector.example", 6514)),
        ("udp://10.0.0.5:514", SyslogDestination("udp", "10.0.0.5", 514)),
        ("tls://[::1]:6514", SyslogDestination("tls", "::1", 6514)),
        ("tls://collector.example", SyslogDestination("tls", "collector.example", 6514)),
        ("udp://10.0.0.5", SyslogDestination("udp", "10.0.0.5", 514)),
        ("udp://[fe80::1]", SyslogDestination("udp", "fe80::1", 514)),
        ("TLS://audit:16514", SyslogDestination("tls", "audit", 16514)),
    ],
)
def test_parse_destination_reads_scheme_host_and_port(
    text: str, expected: SyslogDestination
) -> None:
    assert parse_destination(text) == expected


@pytest.mark.parametrize(
    "destination",
    [SyslogDestination("tls", "::1", 6514), SyslogDestination("udp", "audit.example", 514)],
)
def test_destination_text_parses_back_to_itself(destination: SyslogDestination) -> None:
    assert parse_destination(str(destination)) == destination


def test_destination_text_brackets_ipv6_host() -> None:
    assert str(SyslogDestination("tls", "::1", 6514)) == "tls://[::1]:6514"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("tcp://collector:514", "scheme must be tls or udp"),
        ("collector:6514", "expected tls://"),
        ("tls://:6514", "missing host"),
        ("tls://", "missing host"),
        ("tls://collector:0", "bad port"),
        ("tls://collector:65536", "bad port"),
        ("tls://collector:syslog", "bad port"),
        ("tls://collector:", "bad port"),
        ("tls://::1:6514", "IPv6 address in brackets"),
        ("tls://[::1:6514", "malformed"),
        ("tls://[not-ipv6]:6514", "no IPv6 address"),
        ("tls://collector:6514/path", "only host and port"),
        ("tls://user@collector:6514", "only host and port"),
    ],
)
def test_parse_destination_rejects_malformed_text(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_destination(text)


def test_open_sender_requires_a_ca_for_tls() -> None:
    with pytest.raises(ValueError, match="CA"):
        open_sender(parse_destination("tls://127.0.0.1:6514"))


def test_open_sender_gives_udp_sender_for_udp_destination() -> None:
    sender = open_sender(parse_destination("udp://127.0.0.1"), ca=Path("/nonexistent"))

    assert isinstance(sender, UdpSyslogSender)


def test_tls_sender_fails_at_start_when_certificate_is_unreadable(pki: DevPki) -> None:
    with pytest.raises(OSError):
        TlsSyslogSender(
            parse_destination("tls://127.0.0.1"),
            ca=pki.ca.chain,
            cert=pki.hospital.tls_cert.with_name("missing.pem"),
            key=pki.hospital.tls_key,
        )


# TLS delivery


def test_tls_sender_delivers_messages_in_order_over_one_connection(
    sender: TlsSyslogSender, collector: SyslogCollector
) -> None:
    sent = [message(f"<m n='{n}'/>") for n in range(5)]

    sender.send(sent[:3])
    sender.send(sent[3:])

    assert collector.wait_for(5) == sent
    assert collector.connections_accepted == 1


def test_tls_sender_delivers_one_megabyte_message_intact(
    sender: TlsSyslogSender, collector: SyslogCollector
) -> None:
    big = message("<AuditMessage>" + "é" * 500_000 + "</AuditMessage>")
    assert len(big) > 1_000_000

    sender.send([big, message()])

    assert collector.wait_for(2) == [big, message()]


def test_tls_sender_sends_nothing_for_empty_batch(
    sender: TlsSyslogSender, collector: SyslogCollector
) -> None:
    sender.send([])
    sender.send([message()])

    assert collector.wait_for(1) == [message()]
    assert collector.handshake_failures == 0


def test_tls_sender_keeps_concurrent_batches_whole(
    sender: TlsSyslogSender, collector: SyslogCollector
) -> None:
    batches = [[message(f"<t{t} n='{n}'/>") for n in range(20)] for t in range(4)]
    threads = [threading.Thread(target=sender.send, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    received = collector.wait_for(80)
    for batch in batches:
        start = received.index(batch[0])
        assert received[start : start + 20] == batch
    assert collector.connections_accepted == 1


@pytest.mark.parametrize("version", TLS_VERSIONS, ids=lambda v: v.name)
def test_tls_sender_works_with_either_protocol_version(
    pki: DevPki, version: ssl.TLSVersion
) -> None:
    with SyslogCollector(pki.server.cert, pki.server.key, pki.ca.chain, tls_version=version) as c:
        sender = hospital_sender(pki, c.destination)
        sender.send([message()])
        assert c.wait_for(1) == [message()]
        sender.close()


def test_tls_sender_verifies_collector_by_dns_name(pki: DevPki, collector: SyslogCollector) -> None:
    sender = hospital_sender(pki, parse_destination(f"tls://localhost:{collector.port}"))

    sender.send([message()])

    assert collector.wait_for(1) == [message()]
    sender.close()


def test_tls_sender_reconnects_after_collector_dropped_connection(
    sender: TlsSyslogSender, collector: SyslogCollector
) -> None:
    sender.send([message("<first/>")])
    collector.wait_for(1)

    collector.drop_connections()
    sender.send([message("<second/>")])

    assert collector.wait_for(2) == [message("<first/>"), message("<second/>")]
    assert collector.connections_accepted == 2


def test_tls_sender_reconnects_after_close(
    sender: TlsSyslogSender, collector: SyslogCollector
) -> None:
    sender.send([message("<first/>")])
    sender.close()
    sender.send([message("<second/>")])

    assert collector.wait_for(2) == [message("<first/>"), message("<second/>")]


def test_tls_sender_raises_naming_collector_when_it_is_down(
    pki: DevPki, collector: SyslogCollector
) -> None:
    sender = hospital_sender(pki, collector.destination)
    sender.send([message()])
    collector.wait_for(1)
    collector.stop()

    with pytest.raises(SyslogError, match=f"127.0.0.1:{collector.port}") as error:
        sender.send([message()])

    assert isinstance(error.value.__cause__, ConnectionRefusedError)


def test_tls_sender_resumes_when_collector_returns_on_same_port(
    pki: DevPki, collector: SyslogCollector
) -> None:
    sender = hospital_sender(pki, collector.destination)
    sender.send([message("<before/>")])
    collector.wait_for(1)
    collector.stop()
    with pytest.raises(SyslogError):
        sender.send([message("<lost/>")])

    with SyslogCollector(
        pki.server.cert, pki.server.key, pki.ca.chain, port=collector.port
    ) as back:
        sender.send([message("<after/>")])
        assert back.wait_for(1) == [message("<after/>")]
    sender.close()


def test_syslog_error_never_contains_message_content(
    pki: DevPki, collector: SyslogCollector
) -> None:
    sender = hospital_sender(pki, collector.destination)
    collector.stop()
    secret = message(SECRET.decode())

    with pytest.raises(SyslogError) as error:
        sender.send([secret])

    text = str(error.value) + repr(error.value) + str(error.value.__cause__)
    assert "279035121518989" not in text and "DUPONT" not in text


# TLS authentication, both ways


@pytest.mark.parametrize("version", TLS_VERSIONS, ids=lambda v: v.name)
def test_tls_sender_without_client_certificate_is_refused(
    pki: DevPki, version: ssl.TLSVersion
) -> None:
    with SyslogCollector(pki.server.cert, pki.server.key, pki.ca.chain, tls_version=version) as c:
        sender = TlsSyslogSender(c.destination, ca=pki.ca.chain, timeout=5)

        with pytest.raises(SyslogError, match=f"127.0.0.1:{c.port}"):
            sender.send([message()])

        assert c.wait_for_handshake_failures(1) == 1
        assert c.messages == []


@pytest.mark.parametrize("version", TLS_VERSIONS, ids=lambda v: v.name)
def test_tls_sender_with_certificate_from_untrusted_ca_is_refused(
    pki: DevPki, version: ssl.TLSVersion
) -> None:
    stranger = pki.stranger
    with SyslogCollector(pki.server.cert, pki.server.key, pki.ca.chain, tls_version=version) as c:
        sender = TlsSyslogSender(
            c.destination, ca=pki.ca.chain, cert=stranger.tls_cert, key=stranger.tls_key
        )

        with pytest.raises(SyslogError):
            sender.send([message()])

        assert c.wait_for_handshake_failures(1) == 1
        assert c.messages == []


def test_tls_sender_refuses_collector_from_another_ca(
    pki: DevPki, collector: SyslogCollector
) -> None:
    # The devca layout: <CA folder>/establishments/<structure id>/auth.pem.
    other_ca = load_ca(pki.stranger.tls_cert.parents[2])
    hospital = pki.hospital
    sender = TlsSyslogSender(
        collector.destination, ca=other_ca.chain, cert=hospital.tls_cert, key=hospital.tls_key
    )

    with pytest.raises(SyslogError, match="certificate verify failed") as error:
        sender.send([message()])

    assert isinstance(error.value.__cause__, ssl.SSLCertVerificationError)
    assert collector.messages == []


def test_tls_sender_refuses_collector_certified_for_another_host(
    pki: DevPki, tmp_path: Path
) -> None:
    elsewhere = issue_server(pki.ca, tmp_path, ["other.example"])
    with SyslogCollector(elsewhere.cert, elsewhere.key, pki.ca.chain) as c:
        sender = hospital_sender(pki, c.destination)

        with pytest.raises(SyslogError, match=r"not valid for '127\.0\.0\.1'"):
            sender.send([message()])

        assert c.messages == []


# UDP


def test_udp_sender_delivers_one_datagram_per_message(udp_collector: UdpCollector) -> None:
    sender = UdpSyslogSender(udp_collector.destination)
    sent = [message(f"<m n='{n}'/>") for n in range(3)]

    sender.send(sent)

    assert udp_collector.wait_for(3) == sent
    sender.close()


def test_udp_sender_delivers_largest_datagram(udp_collector: UdpCollector) -> None:
    sender = UdpSyslogSender(udp_collector.destination)
    largest = b"x" * 65_507

    sender.send([largest])

    assert udp_collector.wait_for(1) == [largest]
    sender.close()


def test_udp_sender_refuses_whole_batch_with_oversized_message(
    udp_collector: UdpCollector,
) -> None:
    sender = UdpSyslogSender(udp_collector.destination)

    with pytest.raises(SyslogError, match="65508 bytes") as error:
        sender.send([message(), b"x" * 65_508])

    assert "xxxx" not in str(error.value)
    sender.send([message("<next/>")])
    assert udp_collector.wait_for(1) == [message("<next/>")]
    sender.close()
