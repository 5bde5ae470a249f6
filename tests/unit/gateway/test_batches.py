"""A streamed body read in batches: every chunk in order, few hand-offs, and the source closed
when its reader stops early (its files closed for a client gone)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from gateway.dicomweb import batches
from gateway.dicomweb.batches import in_batches


def test_every_chunk_in_order_in_few_hand_offs(monkeypatch):
    taken: list[int] = []
    take = batches._take

    def counted(chunks: Iterator[bytes], batch_bytes: int) -> list[bytes]:
        batch = take(chunks, batch_bytes)
        taken.append(len(batch))
        return batch

    monkeypatch.setattr(batches, "_take", counted)
    chunks = [bytes([n]) * 100 for n in range(10)]

    async def read() -> list[bytes]:
        return [chunk async for chunk in in_batches(iter(chunks), batch_bytes=400)]

    assert asyncio.run(read()) == chunks
    assert taken == [4, 4, 2, 0]


def test_a_reader_that_stops_early_closes_the_source():
    closed = []

    def source() -> Iterator[bytes]:
        try:
            for _ in range(100):
                yield b"x" * 1000
        finally:
            closed.append(True)

    async def read_one() -> None:
        stream = in_batches(source(), batch_bytes=2000)
        await anext(stream)
        await stream.aclose()

    asyncio.run(read_one())
    assert closed == [True]
