"""Prometheus metrics for /metrics: deliveries, poll results, outbox depth.

Counters live in a registry of our own (not the global one) so tests and several apps in
one process do not collide; the outbox depth is read from the database at scrape time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from sotabot.storage.outbox import depth

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class OutboxDepth(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("sotabot_outbox_deliveries", "Deliveries in the outbox by state", labels=["state"])
        try:
            counts = depth(self.engine)
        except Exception as exc:  # a scrape must not fail because the database blinked
            log.warning("metrics: cannot read the outbox: %s", exc)
            counts = {}
        for state, n in counts.items():
            gauge.add_metric([state], n)
        yield gauge


class Metrics:
    """The service's counters; one instance per running service."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "sotabot_deliveries",
            "Delivery attempts by platform and outcome",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.polls = Counter(
            "sotabot_polls", "Scheduled job runs by job and outcome", ["job", "outcome"], registry=self.registry
        )
        self.poll_items = Counter(
            "sotabot_poll_items", "Items a poll found, by source and kind", ["job", "kind"], registry=self.registry
        )
        self.commands = Counter(
            "sotabot_commands", "Commands answered by platform", ["platform"], registry=self.registry
        )
        if engine is not None:
            self.registry.register(OutboxDepth(engine))

    def record_job(self, job_id: str, result: Any, error: BaseException | None = None) -> None:
        errors = getattr(result, "errors", None)
        outcome = "error" if error is not None or errors else "ok"
        self.polls.labels(job_id, outcome).inc()
        for kind in ("new", "updated", "linked"):
            value = getattr(result, kind, None)
            if isinstance(value, int) and value:
                self.poll_items.labels(job_id, kind).inc(value)

    def render(self) -> bytes:
        return generate_latest(self.registry)
