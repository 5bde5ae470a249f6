"""R4 websocket Subscriptions (FHIR R4 2.46.7.2): a client that cannot receive rest-hooks (a
browser, a HIS behind NAT) opens ``/fhir/$subscription-websocket`` with its bearer token (the
``Authorization`` header, or ``?access_token=`` where a browser cannot set headers), sends
``bind {id}`` for each of its Subscriptions with ``channel.type = websocket`` and gets
``bound {id}``, then ``ping {id}`` whenever a resource matching that Subscription's criteria is
written.  The worker records each match (``storage.fhir.subscription_pings``); every open socket
looks for new ones twice a second.  A bind that is refused answers ``error {reason}``.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from gateway.auth.tokens import InvalidToken, Requester, verify
from gateway.errors import HttpError
from gateway.fhir import interactions
from storage.db import reading
from storage.fhir import subscription_pings
from storage.platform import Platform

PATH = "/fhir/$subscription-websocket"
POLL_SECONDS = 0.5
POLICY_VIOLATION = 1008  # WebSocket close code: no valid token


def router(platform: Platform) -> APIRouter:
    api = APIRouter()

    def bind(requester: Requester, message: str, bound: set[str]) -> str:
        verb, _, subscription_id = message.strip().partition(" ")
        if verb != "bind" or not subscription_id:
            return "error expected: bind {subscription id}"
        try:
            stored, pending = platform.audit.read(
                lambda session: interactions.read(
                    session, requester, "Subscription", subscription_id
                )
            )
            pending.wait()
        except HttpError as exc:
            return f"error {exc.message}"
        channel = (stored.content or {}).get("channel", {})
        if channel.get("type") != "websocket":
            return f"error Subscription/{subscription_id} is not a websocket subscription"
        bound.add(subscription_id)
        return f"bound {subscription_id}"

    def newest() -> int:
        with reading(platform.sessions) as session:
            return subscription_pings.latest(session)

    def pings(bound: set[str], last: int) -> list[tuple[int, str]]:
        with reading(platform.sessions) as session:
            return subscription_pings.after(session, bound, last)

    @api.websocket(PATH)
    async def subscription_socket(socket: WebSocket) -> None:
        scheme, _, header_token = socket.headers.get("authorization", "").partition(" ")
        token = socket.query_params.get("access_token") or (
            header_token.strip() if scheme.lower() == "bearer" else ""
        )
        try:
            requester = await run_in_threadpool(verify, socket.app.state.keys, token)
        except InvalidToken:
            await socket.close(code=POLICY_VIOLATION)
            return
        await socket.accept()
        bound: set[str] = set()
        last = await run_in_threadpool(newest)
        incoming = asyncio.ensure_future(socket.receive_text())
        try:
            while True:
                done, _ = await asyncio.wait({incoming}, timeout=POLL_SECONDS)
                if done:
                    message = incoming.result()
                    await socket.send_text(await run_in_threadpool(bind, requester, message, bound))
                    incoming = asyncio.ensure_future(socket.receive_text())
                if bound:
                    for ping_id, subscription_id in await run_in_threadpool(pings, bound, last):
                        await socket.send_text(f"ping {subscription_id}")
                        last = ping_id
        except WebSocketDisconnect:
            return
        finally:
            incoming.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await incoming

    return api
