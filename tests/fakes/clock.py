"""A clock for the polite HTTP client's `Clock` protocol that only moves when slept on."""

from __future__ import annotations


class FakeClock:
    """A clock that only moves when slept on: tests assert pacing without waiting."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds > 0:
            self.now += seconds
