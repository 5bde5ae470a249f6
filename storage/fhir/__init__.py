"""The FHIR resource store: versions, history, search indexes and search.

Owns keeping FHIR resources (``store``: create, update, delete with versions and history, the
search-index rows extracted at write time, the ``fhir.changed`` events), answering searches
in SQL on those indexes (``search``, with ``combos`` for the code+date pair index), and the
record of Subscription matches that websocket clients read (``subscription_pings``).  Validation
is not here: the services validate through ``fhir_profiles`` before they write.  The tables are
``storage.models.fhir``.
"""

from storage.fhir.combos import COMBOS, combo_param, pairs
from storage.fhir.criteria import Criterion, Has, Match
from storage.fhir.lookups import (
    by_identifier,
    by_identifiers,
    read_many,
    references,
    referencing,
    server_owned,
)
from storage.fhir.search import SortKey
from storage.fhir.store import (
    IndexRows,
    StoredResource,
    VersionConflict,
    as_stored,
    index_rows,
    instant,
    new_id,
)

__all__ = [
    "COMBOS",
    "Criterion",
    "Has",
    "IndexRows",
    "Match",
    "SortKey",
    "StoredResource",
    "VersionConflict",
    "as_stored",
    "by_identifier",
    "by_identifiers",
    "combo_param",
    "index_rows",
    "instant",
    "new_id",
    "pairs",
    "read_many",
    "references",
    "referencing",
    "server_owned",
]
