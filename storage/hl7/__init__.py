"""The HL7 v2 message log: what each LIS or HIS peer sent, what became of it, and replay.

The raw bytes are archived in the object store before the ACK; this package keeps the log an
administrator reads (state and reason, never the content) and queues a message for replay.  The
table is ``storage.models.hl7``.
"""

from storage.hl7.log import messages_of, request_replay

__all__ = [
    "messages_of",
    "request_replay",
]
