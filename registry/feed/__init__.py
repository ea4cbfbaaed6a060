"""ITI-8 Patient Identity Feed: HL7 v2.3.1 ADT over MLLP into the registry's `Patients`.

Public API::

    ack = handle_message(patients, raw, settings)           # one message → its ACK text
    await serve_mllp(patients, host, port, settings)        # asyncio server, until cancelled
    with MllpServerThread(patients, settings, port=2575) as (host, port): ...

HL7 parsing uses python-hl7 (PyPI ``hl7``): pure Python, no dependencies, tolerant of
the variations real feeds carry (custom separators, repetitions, escapes), and its
accessor (``PID.F3.R2.C4.S2``) reads exactly the CX parts we need. hl7apy was the other
candidate: it validates against the HL7 structure definitions, which rejects many real
ADT feeds unless turned off, and weighs far more for reading a dozen fields. MLLP framing
is our own (`registry.feed.mllp`) on public asyncio streams, see there why.
"""

from registry.feed.ack import AckCode, ErrorCode, FeedError, build_ack
from registry.feed.handler import SUPPORTED_EVENTS, handle_message
from registry.feed.mllp import MllpServer, MllpServerThread, frame, read_frame, serve_mllp

__all__ = [
    "SUPPORTED_EVENTS",
    "AckCode",
    "ErrorCode",
    "FeedError",
    "MllpServer",
    "MllpServerThread",
    "build_ack",
    "frame",
    "handle_message",
    "read_frame",
    "serve_mllp",
]
