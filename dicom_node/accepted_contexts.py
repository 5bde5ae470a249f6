"""The node's supported presentation contexts, copied cheaply for each association.

pynetdicom gives every association its own ``deepcopy`` of the server's supported contexts.  The
node supports every storage class in every transfer syntax (thousands of UIDs), and deep-copying
a pydicom ``UID`` re-validates it against a regular expression: about 60 ms of CPU per
association, paid by every push and every worklist query.  A UID is an immutable string, so
each association here gets new context objects (and new transfer-syntax lists) that share the
UIDs — what ``deepcopy`` gives, without remaking them.
"""

from __future__ import annotations

import copy
from typing import Any

from pynetdicom.presentation import PresentationContext


class SharedUIDContexts(list[PresentationContext]):
    def __deepcopy__(self, memo: dict[int, Any]) -> list[PresentationContext]:
        return [_copied(context) for context in self]


def _copied(context: PresentationContext) -> PresentationContext:
    new = copy.copy(context)
    new._transfer_syntax = list(context._transfer_syntax)
    return new
