"""Specification of `streams.core.retry`: capped exponential backoff with equal jitter, and the
retry loop every retrying caller runs, sync and async."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from streams.core.errors import TransientError
from streams.core.retry import RetryPolicy, retry_async, retry_call

RETRY = RetryPolicy(base_seconds=0.2, max_seconds=30.0)
# Without randomness each delay is half its ceiling: 0.5, 1, 2, 4, then 4 again.
STEADY = RetryPolicy(base_seconds=1.0, max_seconds=8.0, jitter=lambda: 0.0)


class FailsThenReturns:
    """An action that raises each of `errors` in turn, then returns "done"."""

    def __init__(self, *errors: BaseException) -> None:
        self._errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self._errors:
            raise self._errors.pop(0)
        return "done"

    async def in_async(self) -> str:
        return self()


class Retries:
    """Records what `on_retry` is told: error class, failed attempts so far, delay."""

    def __init__(self) -> None:
        self.seen: list[tuple[type[BaseException], int, float]] = []

    def __call__(self, error: BaseException, attempt: int, delay: float) -> None:
        self.seen.append((type(error), attempt, delay))


def transient(count: int) -> list[BaseException]:
    return [TransientError(f"outage {n}") for n in range(count)]


# --- the policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", range(1, 12))
def test_delay_is_between_half_and_all_of_the_doubling_ceiling(attempt: int) -> None:
    ceiling = min(RETRY.max_seconds, RETRY.base_seconds * 2 ** (attempt - 1))

    delays = [RETRY.delay(attempt) for _ in range(50)]

    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)


def test_delay_grows_with_each_attempt_until_the_cap() -> None:
    uncapped = [
        attempt
        for attempt in range(1, 40)
        if RETRY.base_seconds * 2 ** (attempt - 1) <= RETRY.max_seconds
    ]

    delays = [RETRY.delay(attempt) for attempt in uncapped]

    assert len(delays) > 5
    assert delays == sorted(delays)


@pytest.mark.parametrize("attempt", [20, 1_024, 1_025, 10_000, 10**9])
def test_delay_stays_capped_however_long_an_outage_lasts(attempt: int) -> None:
    assert RETRY.max_seconds / 2 <= RETRY.delay(attempt) <= RETRY.max_seconds


@pytest.mark.parametrize(("jitter", "delays"), [(0.0, [0.5, 1.0, 2.0]), (0.5, [0.75, 1.5, 3.0])])
def test_jitter_places_the_delay_between_half_and_all_of_the_ceiling(
    jitter: float, delays: list[float]
) -> None:
    policy = RetryPolicy(base_seconds=1.0, max_seconds=30.0, jitter=lambda: jitter)

    assert [policy.delay(attempt) for attempt in (1, 2, 3)] == delays


def test_a_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        RetryPolicy(base_seconds=-1.0)


# --- the loop, sync -----------------------------------------------------------------------------


def test_retry_call_retries_until_the_action_succeeds_sleeping_the_policy_delays() -> None:
    action = FailsThenReturns(*transient(5))
    sleeps: list[float] = []

    result = retry_call(action, STEADY, retry_on=TransientError, sleep=sleeps.append)

    assert result == "done"
    assert action.calls == 6
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_retry_call_tells_on_retry_of_each_failure_before_sleeping() -> None:
    action = FailsThenReturns(*transient(2))
    events: list[object] = []
    retries = Retries()

    def on_retry(error: BaseException, attempt: int, delay: float) -> None:
        retries(error, attempt, delay)
        events.append("told")

    retry_call(action, STEADY, retry_on=TransientError, on_retry=on_retry, sleep=events.append)

    assert retries.seen == [(TransientError, 1, 0.5), (TransientError, 2, 1.0)]
    assert events == ["told", 0.5, "told", 1.0]


def test_retry_call_does_not_retry_other_errors() -> None:
    action = FailsThenReturns(*transient(1), ValueError("a bug"))
    sleeps: list[float] = []

    with pytest.raises(ValueError, match="a bug"):
        retry_call(action, STEADY, retry_on=TransientError, sleep=sleeps.append)
    assert action.calls == 2
    assert sleeps == [0.5]


def test_retry_call_retries_any_of_several_error_classes() -> None:
    action = FailsThenReturns(TransientError("down"), ConnectionError("reset"))

    result = retry_call(
        action, STEADY, retry_on=(TransientError, ConnectionError), sleep=lambda _: None
    )

    assert (result, action.calls) == ("done", 3)


def test_retry_call_gives_up_after_the_attempt_limit_raising_the_last_error() -> None:
    action = FailsThenReturns(*transient(5))
    sleeps: list[float] = []
    retries = Retries()

    with pytest.raises(TransientError, match="outage 2"):
        retry_call(
            action,
            STEADY,
            retry_on=TransientError,
            attempts=3,
            on_retry=retries,
            sleep=sleeps.append,
        )
    assert action.calls == 3
    assert sleeps == [0.5, 1.0]
    assert [attempt for _, attempt, _ in retries.seen] == [1, 2]


def test_retry_call_with_one_attempt_never_retries() -> None:
    action = FailsThenReturns(*transient(1))
    sleeps: list[float] = []

    with pytest.raises(TransientError):
        retry_call(action, STEADY, retry_on=TransientError, attempts=1, sleep=sleeps.append)
    assert (action.calls, sleeps) == (1, [])


def test_retry_call_without_a_limit_outlasts_a_long_outage() -> None:
    action = FailsThenReturns(*transient(200))

    assert retry_call(action, STEADY, retry_on=TransientError, sleep=lambda _: None) == "done"
    assert action.calls == 201


def test_a_sleep_that_raises_ends_the_retries() -> None:
    class Stopped(Exception):
        pass

    def stopped(_: float) -> None:
        raise Stopped

    action = FailsThenReturns(*transient(3))

    with pytest.raises(Stopped):
        retry_call(action, STEADY, retry_on=TransientError, sleep=stopped)
    assert action.calls == 1


# --- the loop, async ----------------------------------------------------------------------------


def recorded_async_sleep(sleeps: list[float]) -> Callable[[float], Awaitable[None]]:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return sleep


def test_retry_async_retries_until_the_action_succeeds_telling_on_retry() -> None:
    action = FailsThenReturns(*transient(3))
    sleeps: list[float] = []
    retries = Retries()

    result = asyncio.run(
        retry_async(
            action.in_async,
            STEADY,
            retry_on=TransientError,
            on_retry=retries,
            sleep=recorded_async_sleep(sleeps),
        )
    )

    assert result == "done"
    assert sleeps == [0.5, 1.0, 2.0]
    assert retries.seen == [
        (TransientError, 1, 0.5),
        (TransientError, 2, 1.0),
        (TransientError, 3, 2.0),
    ]


def test_retry_async_does_not_retry_other_errors() -> None:
    action = FailsThenReturns(KeyError("not transient"))
    sleeps: list[float] = []

    with pytest.raises(KeyError):
        asyncio.run(
            retry_async(
                action.in_async, STEADY, retry_on=TransientError, sleep=recorded_async_sleep(sleeps)
            )
        )
    assert (action.calls, sleeps) == (1, [])


def test_retry_async_gives_up_after_the_attempt_limit() -> None:
    action = FailsThenReturns(*transient(4))
    sleeps: list[float] = []

    with pytest.raises(TransientError, match="outage 1"):
        asyncio.run(
            retry_async(
                action.in_async,
                STEADY,
                retry_on=TransientError,
                attempts=2,
                sleep=recorded_async_sleep(sleeps),
            )
        )
    assert (action.calls, sleeps) == (2, [0.5])


def test_retry_async_by_default_waits_without_blocking_other_tasks() -> None:
    action = FailsThenReturns(*transient(2))
    brief = RetryPolicy(base_seconds=0.02, max_seconds=0.02)

    async def scenario() -> int:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        ticker = asyncio.create_task(tick())
        assert await retry_async(action.in_async, brief, retry_on=TransientError) == "done"
        ticker.cancel()
        return ticks

    assert asyncio.run(scenario()) > 1
    assert action.calls == 3
