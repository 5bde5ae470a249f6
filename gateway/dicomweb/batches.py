"""A streamed body read in batches off the event loop.

Starlette reads a plain iterator's chunks one by one, each in a worker thread: a series of
300 CT slices was 300 hand-offs between the loop and the pool, each waiting its turn at the
interpreter.  Here one hand-off reads chunks until it holds :data:`BATCH_BYTES` (the
chunks themselves are sent as they are, not copied together).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from starlette.concurrency import run_in_threadpool

BATCH_BYTES = 8 * 1024 * 1024


async def in_batches(
    chunks: Iterator[bytes], batch_bytes: int = BATCH_BYTES
) -> AsyncIterator[bytes]:
    """``chunks`` as an async stream, read ``batch_bytes`` at a time in a worker thread; a
    generator is closed when the stream ends, early too (a client gone: its files close)."""
    try:
        while batch := await run_in_threadpool(_take, chunks, batch_bytes):
            for chunk in batch:
                yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # between batches: never while a worker thread is reading it


def _take(chunks: Iterator[bytes], batch_bytes: int) -> list[bytes]:
    batch: list[bytes] = []
    size = 0
    for chunk in chunks:
        batch.append(chunk)
        size += len(chunk)
        if size >= batch_bytes:
            break
    return batch
