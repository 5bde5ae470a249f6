"""The HTTP errors handlers raise; the app renders each as its protocol's error body."""

from __future__ import annotations


class HttpError(Exception):
    status = 500
    # What is wrong where, as (expression, message) pairs, when the error is about content.
    problems: list[tuple[str, str]] | None = None

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(HttpError):
    status = 400


class Unauthorized(HttpError):
    """No valid bearer token."""

    status = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


class Forbidden(HttpError):
    """Authenticated, but the token's scopes do not allow this."""

    status = 403

    def __init__(self, message: str) -> None:
        super().__init__(message, {"WWW-Authenticate": 'Bearer error="insufficient_scope"'})


class NotFound(HttpError):
    status = 404


class NotAcceptable(HttpError):
    status = 406


class MethodNotAllowed(HttpError):
    status = 405


class Conflict(HttpError):
    status = 409


class PreconditionFailed(HttpError):
    status = 412


class TooLarge(HttpError):
    status = 413


class Unprocessable(HttpError):
    """A resource that does not validate; ``problems`` are ``(expression, message)`` pairs."""

    status = 422

    def __init__(self, message: str, problems: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.problems = problems


class Gone(HttpError):
    status = 410


class UnsupportedMediaType(HttpError):
    status = 415


class ServiceUnavailable(HttpError):
    status = 503

    def __init__(self, message: str) -> None:
        super().__init__(message, {"Retry-After": "30"})
