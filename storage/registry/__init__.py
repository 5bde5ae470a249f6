"""The alliance registry: who belongs, who may connect, and the secrets that prove it.

Owns the alliance file (``yilian.yaml``: its schema and validation in ``alliance_file``, and
``alliance_import``, which writes it into the registry tables in one transaction), the lookups
every listener makes (``lookups``: AE titles, MLLP peers, API clients, users and the centres that
serve an organization), people's logins (``logins``: authorization codes, refresh tokens,
failed attempts), the whole directory in one read (``directory``, and the event that asks
for it to be published again), secret hashing (``secrets``) and the token signing keys
(``signing_keys``).  The tables are ``storage.models.registry``.
"""

from storage.registry.alliance_file import (
    AllianceFile,
    AllianceProblems,
    check_alliance,
    parse_alliance_file,
)
from storage.registry.alliance_import import ImportReport, import_alliance_file
from storage.registry.assertions import client_keys, take_assertion
from storage.registry.directory import CHANGED_TOPIC, Directory, read_directory
from storage.registry.editing import (
    REMOVABLE,
    SECTIONS,
    Edit,
    NotInRegistry,
    NotYours,
    RegistryConflict,
    edit_registry,
    registry_document,
    replace_entries,
)
from storage.registry.logins import (
    clear_login_failures,
    login_failures,
    new_code,
    new_refresh_token,
    note_login_failure,
    revoke_refresh_token,
    rotate_refresh_token,
    take_code,
)
from storage.registry.lookups import (
    RegisteredAE,
    authenticate_client,
    authenticate_user,
    centre_serving,
    centres_of,
    centres_of_kind,
    find_mllp_peer,
    find_user,
    heads_of,
    registered_ae_titles,
    serving_centre,
)
from storage.registry.secrets import hash_secret, verify_secret
from storage.registry.signing_keys import add_signing_key, signing_keys

__all__ = [
    "CHANGED_TOPIC",
    "REMOVABLE",
    "SECTIONS",
    "AllianceFile",
    "AllianceProblems",
    "Directory",
    "Edit",
    "ImportReport",
    "NotInRegistry",
    "NotYours",
    "RegisteredAE",
    "RegistryConflict",
    "add_signing_key",
    "authenticate_client",
    "authenticate_user",
    "centre_serving",
    "centres_of",
    "centres_of_kind",
    "check_alliance",
    "clear_login_failures",
    "client_keys",
    "edit_registry",
    "find_mllp_peer",
    "find_user",
    "hash_secret",
    "heads_of",
    "import_alliance_file",
    "login_failures",
    "new_code",
    "new_refresh_token",
    "note_login_failure",
    "parse_alliance_file",
    "read_directory",
    "registered_ae_titles",
    "registry_document",
    "replace_entries",
    "revoke_refresh_token",
    "rotate_refresh_token",
    "serving_centre",
    "signing_keys",
    "take_assertion",
    "take_code",
    "verify_secret",
]
