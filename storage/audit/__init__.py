"""The access log (``audit_records``): who — an AE, a client, a user, on behalf of an
organization — did what to which patient data, when, and with what outcome.

The invariant: an access is answered only after the commit that holds its record.

- A write records itself in its own transaction (:func:`audit`): the data and its record
  commit together or not at all.
- A read runs in a read-only session (:meth:`AuditLog.read`), takes no write lock, and hands
  its record to the process's :class:`AuditLog`, whose one writer thread commits the records
  of all concurrent reads in one transaction (group commit, one disk flush per group).  The
  read waits for that commit before anything of its answer leaves; if the commit fails, the
  read answers "unavailable" (HTTP 503, a DIMSE failure) and no data.

What a crash (of the process or the machine) can and cannot lose: nothing that was answered is
unrecorded, because the answer waited for a durable commit (SQLite ``synchronous=FULL``,
PostgreSQL's default synchronous commit).  A read in flight whose record was not yet committed
is lost together with its answer, which was never sent.  The reverse can happen — a record
committed, then the crash before the answer went out — so the log may hold an access the client
never received, never the other way round.
"""

from storage.audit.log import AuditLog, Pending
from storage.audit.patient_trail import PatientTrail, records_about
from storage.audit.records import AuditQuery, audit, find_records, get_record

__all__ = [
    "AuditLog",
    "AuditQuery",
    "PatientTrail",
    "Pending",
    "audit",
    "find_records",
    "get_record",
    "records_about",
]
