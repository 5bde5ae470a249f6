"""What is wrong with a message's content, and where, as the ACK's ERR segment says it."""

from __future__ import annotations

INTERNAL_ERROR = 207  # HL7 table 0357 "application internal error": Yilian's own fault, never
# the sender's, and so the one code after which a LIS should send the message again.


class ContentError(Exception):
    """``where`` is ``SEG[n]-field`` (``OBX[2]-5``: the fifth field of the second OBX), or
    ``segment 5`` for a line that is no segment; ``code`` is from HL7 table 0357 (100 segment
    sequence error, 101 required field missing, 102 data type error, 103 table value not
    found, 200 unsupported message type, 203 unsupported version, 204 unknown key)."""

    def __init__(self, where: str, code: int, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.code = code
        self.reason = reason

    def __reduce__(self) -> tuple[type[ContentError], tuple[str, int, str]]:
        # Sent back from the worker processes that map messages (``prepare.py``).
        return ContentError, (self.where, self.code, self.reason)
