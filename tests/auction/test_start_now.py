"""``_start_now``: the fan-out's direct send (Python 3.12's eager task start, for 3.11)."""
from __future__ import annotations

import asyncio

import pytest

from bidding.auction.consumers import _start_now


def test_a_coroutine_that_does_not_suspend_runs_to_the_end_at_once():
    async def main():
        seen = []

        async def quick():
            seen.append("ran")

        assert _start_now(quick()) is None
        assert seen == ["ran"]  # before the caller yielded to the loop

    asyncio.run(main())


def test_a_suspended_coroutine_is_finished_by_a_task_in_order():
    async def main():
        gate = asyncio.Event()
        seen = []

        async def slow():
            seen.append("start")
            await gate.wait()
            seen.append("after gate")
            await asyncio.sleep(0)
            return 42

        task = _start_now(slow())
        assert seen == ["start"] and isinstance(task, asyncio.Task) and not task.done()
        gate.set()
        assert await task == 42
        assert seen == ["start", "after gate"]

    asyncio.run(main())


def test_errors_reach_the_caller_or_the_task():
    async def main():
        async def fails_at_once():
            raise ConnectionError("gone")

        with pytest.raises(ConnectionError):
            _start_now(fails_at_once())

        gate = asyncio.Event()

        async def fails_later():
            await gate.wait()
            raise ConnectionError("gone later")

        task = _start_now(fails_later())
        gate.set()
        with pytest.raises(ConnectionError, match="later"):
            await task

    asyncio.run(main())


def test_cancelling_the_task_cancels_the_coroutine():
    async def main():
        cleaned = []

        async def waits_forever():
            try:
                await asyncio.Event().wait()
            finally:
                cleaned.append(True)

        task = _start_now(waits_forever())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert cleaned == [True]

    asyncio.run(main())
