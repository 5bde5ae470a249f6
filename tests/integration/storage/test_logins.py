"""People's logins as the registry keeps them, on SQLite and PostgreSQL: a code is taken once,
a refresh token is used once (a second use ends its login), failures are counted and forgotten."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.models import utcnow
from storage.registry import (
    clear_login_failures,
    login_failures,
    new_code,
    new_refresh_token,
    note_login_failure,
    revoke_refresh_token,
    rotate_refresh_token,
    take_code,
)


def a_code(sessions: sessionmaker[Session], lifetime: timedelta = timedelta(minutes=2)) -> str:
    with transaction(sessions) as session:
        return new_code(
            session, client_id="yilian-web", redirect_uri="http://x/app/callback",
            code_challenge="c" * 43, username="sunli", scope="", lifetime=lifetime,
        )  # fmt: skip


def a_refresh_token(sessions: sessionmaker[Session], family: str = "f1") -> str:
    with transaction(sessions) as session:
        return new_refresh_token(
            session, family=family, client_id="yilian-web", username="sunli", scope="",
            expires_at=utcnow() + timedelta(hours=8),
        )  # fmt: skip


def test_a_code_is_taken_once_and_not_after_it_expires(sessions: sessionmaker[Session]):
    code = a_code(sessions)
    with transaction(sessions) as session:
        taken = take_code(session, code)
        assert taken is not None
        assert (taken.username, taken.used_at is not None) == ("sunli", True)
    with transaction(sessions) as session:
        assert take_code(session, code) is None
    expired = a_code(sessions, timedelta(seconds=-1))
    with transaction(sessions) as session:
        assert take_code(session, expired) is None
        assert take_code(session, "never-issued") is None


def test_a_second_use_of_a_code_revokes_the_login_it_gave(sessions: sessionmaker[Session]):
    code = a_code(sessions)
    with transaction(sessions) as session:
        taken = take_code(session, code)
        assert taken is not None
        family = taken.code_hash
    token = a_refresh_token(sessions, family)
    with transaction(sessions) as session:
        assert take_code(session, code) is None
    with transaction(sessions) as session:
        assert rotate_refresh_token(session, token, "yilian-web") is None


def test_a_refresh_token_is_used_once_and_reuse_ends_the_login(sessions: sessionmaker[Session]):
    first = a_refresh_token(sessions)
    with transaction(sessions) as session:
        assert rotate_refresh_token(session, first, "another-client") is None
        assert rotate_refresh_token(session, first, "yilian-web") is not None
    second = a_refresh_token(sessions)  # what the rotation handed out
    with transaction(sessions) as session:
        assert rotate_refresh_token(session, first, "yilian-web") is None  # replayed
    with transaction(sessions) as session:
        assert rotate_refresh_token(session, second, "yilian-web") is None  # family revoked


def test_logout_revokes_the_refresh_token(sessions: sessionmaker[Session]):
    token = a_refresh_token(sessions)
    with transaction(sessions) as session:
        revoke_refresh_token(session, token, "yilian-web")
        revoke_refresh_token(session, "unknown", "yilian-web")  # no error
    with transaction(sessions) as session:
        assert rotate_refresh_token(session, token, "yilian-web") is None


def test_failures_are_counted_in_a_row_and_cleared(sessions: sessionmaker[Session]):
    for _ in range(3):
        with transaction(sessions) as session:
            note_login_failure(session, "user:sunli")
    with transaction(sessions) as session:
        found = login_failures(session, "user:sunli")
        assert found is not None
        assert found[0] == 3
        assert login_failures(session, "user:wufang") is None
        clear_login_failures(session, "user:sunli")
    with transaction(sessions) as session:
        assert login_failures(session, "user:sunli") is None
