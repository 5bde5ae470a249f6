"""Each association's copy of the supported contexts is its own (as a deep copy would be) while
sharing the immutable UIDs."""

from __future__ import annotations

import copy

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts
from pynetdicom.sop_class import CTImageStorage

from dicom_node.accepted_contexts import SharedUIDContexts


def _supported() -> SharedUIDContexts:
    ae = AE("YILIAN")
    for context in AllStoragePresentationContexts:
        ae.add_supported_context(
            context.abstract_syntax, ALL_TRANSFER_SYNTAXES, scu_role=True, scp_role=True
        )
    return SharedUIDContexts(ae.supported_contexts)


def test_the_copy_equals_the_original_and_changing_it_leaves_the_original() -> None:
    supported = _supported()
    copied = copy.deepcopy(supported)
    assert [(c.abstract_syntax, c.transfer_syntax, c.scu_role, c.scp_role) for c in copied] == [
        (c.abstract_syntax, c.transfer_syntax, c.scu_role, c.scp_role) for c in supported
    ]
    ct = next(c for c in copied if c.abstract_syntax == CTImageStorage)
    ct.context_id, ct.result, ct.scp_role = 1, 0, False
    ct.transfer_syntax.clear()
    original = next(c for c in supported if c.abstract_syntax == CTImageStorage)
    assert (original.context_id, original.result, original.scp_role) == (None, None, True)
    assert len(original.transfer_syntax) == len(ALL_TRANSFER_SYNTAXES)
    assert all(a is not b for a, b in zip(copied, supported, strict=True))
    # The UIDs themselves are shared, not remade (remaking them is the cost avoided).
    assert ct.abstract_syntax is original.abstract_syntax
