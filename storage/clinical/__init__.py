"""The clinical registers that several services write: critical alerts and lab turnaround.

``critical_alerts`` is the critical-value register (危急值): raise, escalate, acknowledge with
read-back, and the figures — the same chain for a lab result, an imaging or an ECG finding.
``reading_milestones`` keeps each reading Task's steps (ordered … verified, delivered);
``study_links`` the studies linked to orders by a person, or proposed for confirmation;
``patient_links`` the patients' expiring, revocable links to their reports (云胶片);
``slot_bookings`` which appointment holds each booked exam slot (预约检查), one per slot;
``charges`` the charge of each completed remote service, once, and the monthly settlement.
``patient_matches`` is the patient index (MPI: each member's Patient linked to a person;
``linked_patients``), with ``patient_features``, ``patient_scoring`` and
``patient_match_review``; they are imported by their paths (the score loads recordlinkage).
``lab_turnaround`` keeps each lab order's milestones (ordered, collected, sent, received,
rejected, reported) and the turnaround figures.  Each register is used as a module
(``from storage.clinical import critical_alerts``).  The tables are ``storage.models.critical``
and ``storage.models.turnaround``.  ``register_days`` versions the days of those two registers
as they are written (its session hooks are on once any of these modules is imported) and keeps
the indicators' copies of the days.
"""

from storage.clinical import (
    charges,
    critical_alerts,
    lab_turnaround,
    patient_links,
    reading_milestones,
    register_days,
    slot_bookings,
    study_links,
)

__all__ = [
    "charges",
    "critical_alerts",
    "lab_turnaround",
    "patient_links",
    "reading_milestones",
    "register_days",
    "slot_bookings",
    "study_links",
]
