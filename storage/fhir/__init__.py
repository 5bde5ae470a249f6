"""The FHIR resource store: versions, history, search indexes and search.

Owns keeping FHIR resources (``store``: create, update, delete with versions and history, the
search-index rows extracted at write time — ``index_rows`` —, the ``fhir.changed`` events),
answering searches in SQL on those indexes (``search``, with ``combos`` for the code+date
pair index), the modality worklist's scheduled orders (``worklist``), the performed steps
(MPPS) with their Procedures (``performed_steps``), and the record of Subscription matches
that websocket clients read (``subscription_pings``).  Validation is not here: the services
validate through ``fhir_profiles`` before they write.  The tables are ``storage.models.fhir``
and ``storage.models.worklist``.
"""

from storage.fhir.combos import COMBOS, combo_param, pairs
from storage.fhir.criteria import Criterion, Has, Match
from storage.fhir.index_rows import IndexRows, index_rows
from storage.fhir.lookups import (
    all_by_identifier,
    by_identifier,
    by_identifiers,
    read_many,
    references,
    referencing,
    server_owned,
)
from storage.fhir.ordering import SortKey
from storage.fhir.performed_steps import (
    FINAL,
    DuplicateStep,
    FinalStep,
    Step,
    performed_step,
    set_step,
    start_step,
)
from storage.fhir.store import (
    StoredResource,
    VersionConflict,
    as_stored,
    instant,
    new_id,
)
from storage.fhir.worklist import (
    Narrowing,
    ScheduledOrder,
    accession_of,
    order_by_accession,
    scheduled_orders,
    with_study_uids,
)

__all__ = [
    "COMBOS",
    "FINAL",
    "Criterion",
    "DuplicateStep",
    "FinalStep",
    "Has",
    "IndexRows",
    "Match",
    "Narrowing",
    "ScheduledOrder",
    "SortKey",
    "Step",
    "StoredResource",
    "VersionConflict",
    "accession_of",
    "all_by_identifier",
    "as_stored",
    "by_identifier",
    "by_identifiers",
    "combo_param",
    "index_rows",
    "instant",
    "new_id",
    "order_by_accession",
    "pairs",
    "performed_step",
    "read_many",
    "references",
    "referencing",
    "scheduled_orders",
    "server_owned",
    "set_step",
    "start_step",
    "with_study_uids",
]
