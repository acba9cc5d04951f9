"""The verify service's admission: so many places, the next request turned away, and every place
given back however its request ends."""

from __future__ import annotations

import asyncio

import pytest

from connectors.verify_service.admission import Admission, Busy


def test_as_many_requests_as_places_are_admitted_and_the_next_is_turned_away() -> None:
    admission = Admission(2)

    with admission.admitted(), admission.admitted():
        assert admission.in_flight == 2
        with pytest.raises(Busy), admission.admitted():
            pytest.fail("a third request was admitted")
        assert admission.in_flight == 2


def test_a_place_is_given_back_when_its_request_is_answered() -> None:
    admission = Admission(1)

    with admission.admitted():
        pass

    assert admission.in_flight == 0
    with admission.admitted():
        assert admission.in_flight == 1


def test_a_place_is_given_back_when_its_request_fails() -> None:
    admission = Admission(1)

    with pytest.raises(RuntimeError), admission.admitted():
        raise RuntimeError("the verification failed")

    assert admission.in_flight == 0


def test_a_place_is_given_back_when_its_request_is_cancelled() -> None:
    admission = Admission(1)

    async def scenario() -> None:
        started = asyncio.Event()

        async def request() -> None:
            with admission.admitted():
                started.set()
                await asyncio.sleep(60)

        task = asyncio.create_task(request())
        await started.wait()
        assert admission.in_flight == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())

    assert admission.in_flight == 0


def test_a_request_turned_away_holds_no_place() -> None:
    admission = Admission(1)

    with admission.admitted():
        for _ in range(3):
            with pytest.raises(Busy), admission.admitted():
                pass

    assert admission.in_flight == 0
    with admission.admitted():
        assert admission.in_flight == 1


def test_admission_needs_a_place() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Admission(0)
