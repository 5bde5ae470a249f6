"""The gateway (for the HIS that places orders) and the DICOM node (for the modality) over one
demo database."""

from tests.integration.dicomweb.conftest import gateway  # noqa: F401 (a fixture)
from tests.integration.fhir.test_subscriptions import receiver  # noqa: F401 (a fixture)
