"""SPM -> Specimen (shared by results and orders): the barcode it is kept under, its type,
collection and receipt times, and a rejection (SPM-21) as ``unsatisfactory`` with the reason."""

from __future__ import annotations

from typing import Any

from lab_bridge.errors import ContentError
from lab_bridge.mapping.drafts import Draft
from lab_bridge.mapping.values import concept, date_time, instant
from lab_bridge.parse import Segment


def specimen(
    spm: Segment, index: int, subject: dict[str, str], codes: str, specimens: str, zone: Any
) -> Draft:
    """``codes``: the sender's local code system; ``specimens``: its barcode system."""
    where = f"SPM[{index}]"
    barcode = spm.get(2, 1) or spm.get(2, 2)
    if not barcode:
        raise ContentError(f"{where}-2", 101, "the specimen has no identifier (SPM-2)")
    rejected = spm.repetitions(21)
    resource: dict[str, Any] = {
        "resourceType": "Specimen",
        "identifier": [{"system": specimens, "value": barcode}],
        "accessionIdentifier": {"system": specimens, "value": barcode},
        "status": "unsatisfactory" if rejected else "available",
        "subject": subject,
    }
    kinds = spm.repetitions(4)
    if kind := concept(kinds[0] if kinds else [], codes, f"{where}-4"):
        resource["type"] = kind
    if collected := date_time(spm.get(17), zone, f"{where}-17"):
        resource["collection"] = {"collectedDateTime": collected}
    if received := instant(spm.get(18), zone, f"{where}-18"):
        resource["receivedTime"] = received
    if rejected:
        reason = rejected[0][1] if len(rejected[0]) > 1 and rejected[0][1] else rejected[0][0]
        resource["note"] = [{"text": f"拒收：{reason}"}]
    return Draft(f"specimen:{index}", resource, (specimens, barcode), where)
