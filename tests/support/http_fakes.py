"""A stand-in for the web in fetcher tests: an httpx transport that records each request and
answers with a handler of the test's choosing."""

from __future__ import annotations

from collections.abc import Callable

import httpx

__all__ = ["Handler", "Recorder", "redirects_to"]

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """An HTTP handler's requests and the fetcher's sleeps, for assertions."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def transport(self, handler: Handler) -> httpx.MockTransport:
        def record(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return handler(request)

        return httpx.MockTransport(record)


def redirects_to(location: str) -> Handler:
    return lambda _: httpx.Response(302, headers={"location": location})
