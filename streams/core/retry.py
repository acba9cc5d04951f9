"""Retrying with backoff: the one policy and the one loop (sync and async) every retry uses.

The delay before retry number n (1-based) is drawn with equal jitter below a doubling, capped
ceiling: uniform between half and all of min(max_seconds, base_seconds * 2 ** (n - 1)). Half the
ceiling is always waited, so a retry never hammers a dependency that is down; the other half is
random, so the workers that failed together do not retry together.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["OnRetry", "RetryPolicy", "retry_async", "retry_call"]

T = TypeVar("T")

OnRetry = Callable[[BaseException, int, float], None]
"""Told of each failed attempt about to be retried: the error, how many attempts have failed so
far (1-based), and the seconds to wait before the next one."""

RetryOn = type[BaseException] | tuple[type[BaseException], ...]


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with equal jitter; `jitter` draws floats in [0, 1)."""

    base_seconds: float = 0.2
    max_seconds: float = 30.0
    jitter: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.base_seconds < 0 or self.max_seconds < 0:
            raise ValueError("base_seconds and max_seconds must not be negative")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        # Retries may go on forever, and a float power overflows past 2.0 ** 1023.
        doublings = min(attempt - 1, 1023)
        ceiling = min(self.max_seconds, self.base_seconds * 2.0**doublings)
        return ceiling / 2 * (1 + self.jitter())


def retry_call(
    action: Callable[[], T],
    policy: RetryPolicy,
    *,
    retry_on: RetryOn,
    attempts: int | None = None,
    on_retry: OnRetry | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`action()`, tried again after a backoff `sleep` each time it raises one of `retry_on`:
    forever, or until `attempts` attempts have failed, when the last error is raised."""
    failures = 0
    while True:
        try:
            return action()
        except retry_on as error:
            failures += 1
            delay = _backoff(policy, error, failures, attempts, on_retry)
            if delay is None:
                raise
            sleep(delay)


async def retry_async(
    action: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    retry_on: RetryOn,
    attempts: int | None = None,
    on_retry: OnRetry | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """`await action()`, tried again like `retry_call` does, sleeping without blocking the
    event loop."""
    failures = 0
    while True:
        try:
            return await action()
        except retry_on as error:
            failures += 1
            delay = _backoff(policy, error, failures, attempts, on_retry)
            if delay is None:
                raise
            await sleep(delay)


def _backoff(
    policy: RetryPolicy,
    error: BaseException,
    failures: int,
    attempts: int | None,
    on_retry: OnRetry | None,
) -> float | None:
    """The delay before the next attempt, announced to `on_retry`; None once `attempts` are
    spent."""
    if attempts is not None and failures >= attempts:
        return None
    delay = policy.delay(failures)
    if on_retry is not None:
        on_retry(error, failures, delay)
    return delay
