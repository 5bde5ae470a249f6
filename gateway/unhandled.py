"""The last line of defence: an error no handler expected still gets its protocol's answer — an
OperationOutcome on ``/fhir``, ``{"detail": …}`` elsewhere — with status 500 and the connection
kept open (a server that lets the exception reach the ASGI server answers plain text and drops
the keep-alive connection).  Whatever the request was writing rolled back with its transaction.

The log line names the error's type and where it was raised, never its message: messages can
carry the values of patient data.
"""

from __future__ import annotations

import logging
import traceback

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.fhir.outcome import FHIR_JSON, operation_outcome
from storage.json_codec import dump_bytes

log = logging.getLogger("yilian.http")
MESSAGE = "internal error: the request was not completed, and nothing of it was kept"


class AnswerUnhandled:
    def __init__(self, app: ASGIApp, fhir_prefix: str) -> None:
        self.app = app
        self.fhir_prefix = fhir_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            route = getattr(scope.get("route"), "path", "unmatched")
            log.error(
                "unhandled error",
                extra={"route": route, "error": type(exc).__name__,
                       "where": f"{frame.filename}:{frame.lineno} {frame.name}"},
            )  # fmt: skip
            if started:
                raise  # part of the answer is out: only closing the connection tells the client
            await self._answer(scope, send)

    async def _answer(self, scope: Scope, send: Send) -> None:
        if scope["path"].startswith(self.fhir_prefix):
            body, media = dump_bytes(operation_outcome(500, MESSAGE)), FHIR_JSON
        else:
            body, media = dump_bytes({"detail": MESSAGE}), "application/json"
        headers = [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": body})
