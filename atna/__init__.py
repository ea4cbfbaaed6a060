"""ATNA audit (ITI-20 Record Audit Event): the registry's audit trail sent to a collector.

`atna.message` renders an audit event as a DICOM audit message (PS3.15 A.5, the RFC 3881
successor IHE ITI-20 asks for), `atna.syslog` frames it (RFC 5424), `atna.senders` sends it over TLS
(RFC 5425) or UDP (RFC 5426), `atna.forwarder` follows the append-only audit table so that
nothing written there is lost while the collector is away.
"""
