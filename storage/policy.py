"""Who may see what: the one place that decides which organizations' data a requester sees.

An organization sees its own data, and an organization that runs shared centres (the lead
hospital) sees the data of every member its centres serve: that is what reading remotely
("基层检查、上级诊断") needs.  Every query of patient data goes through :func:`visible_orgs`.

The answer is remembered per database for :data:`CACHE_SECONDS` (every DICOMweb frame asks);
a change of the alliance's centres applies to new requests within that time.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Centre, CentreServed

CACHE_SECONDS = 10.0
_cache: dict[tuple[int, str], tuple[float, frozenset[str]]] = {}
_lock = threading.Lock()


def visible_orgs(session: Session, org_id: str) -> set[str]:
    key = (id(session.get_bind()), org_id)
    now = time.monotonic()
    with _lock:
        cached = _cache.get(key)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return set(cached[1])
    served = session.scalars(
        select(CentreServed.org_id)
        .join(Centre, Centre.id == CentreServed.centre_id)
        .where(Centre.org_id == org_id)
    )
    orgs = frozenset({org_id, *served})
    with _lock:
        _cache[key] = (now, orgs)
    return set(orgs)
