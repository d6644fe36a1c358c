"""`GET /metrics` in Prometheus' text format.

What happens in this process (webhooks received, GitHub API calls and GitHub's rate-limit
headers) is counted as it happens; what the queue holds (depth, jobs by conclusion, durations)
and the installations refused (ALLOWED_OWNERS) are read from the database at each scrape, so
that they are right however many processes share it.
A `worker` process (METRICS_PORT) serves only its own counts: the web process serves the queue's,
so that summing over every process's scrape does not count a job twice.
prometheus_client does the format; a collector of our own reads the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from app.state.installations import Installations
from app.state.jobs import QUEUED, RUNNING, JobQueue

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


class Metrics:
    def __init__(self, queue: JobQueue | None, installations: Installations | None = None) -> None:
        """With `queue`, the scrape includes what the queue holds; with `store`, the
        installations refused (ALLOWED_OWNERS)."""
        self.registry = CollectorRegistry()
        self.webhooks = Counter(
            "conveyor_webhooks",
            "Webhook deliveries received, by event and by what the service answered",
            ["event", "status"],
            registry=self.registry,
        )
        self.github_calls = Counter(
            "conveyor_github_api_calls",
            "Requests to GitHub's REST API, by method and status",
            ["method", "status"],
            registry=self.registry,
        )
        self.rate_limit_remaining = Gauge(
            "conveyor_github_rate_limit_remaining",
            "GitHub's x-ratelimit-remaining on its latest answer",
            registry=self.registry,
        )
        if queue is not None:
            self.registry.register(_QueueCollector(queue))
        if installations is not None:
            self.registry.register(_RefusalCollector(installations))

    def track_slots(self, slots: int, busy: Callable[[], int]) -> None:
        """A process that runs tests reports its job slots, busy and idle: what to scale workers
        by."""
        self.registry.register(_SlotCollector(slots, busy))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def trace_config(self) -> aiohttp.TraceConfig:
        """Counts every request of the GitHub client's session, and reads the rate limit."""
        trace = aiohttp.TraceConfig()

        async def on_end(_: aiohttp.ClientSession, __: Any, params: Any) -> None:
            self.github_calls.labels(params.method, str(params.response.status)).inc()
            remaining = params.response.headers.get("x-ratelimit-remaining")
            if remaining is not None and remaining.isdigit():
                self.rate_limit_remaining.set(int(remaining))

        async def on_exception(_: aiohttp.ClientSession, __: Any, params: Any) -> None:
            self.github_calls.labels(params.method, "error").inc()

        trace.on_request_end.append(on_end)
        trace.on_request_exception.append(on_exception)
        return trace


class _QueueCollector(Collector):
    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue

    def collect(self) -> Iterator[Any]:
        depth = GaugeMetricFamily(
            "conveyor_jobs", "Jobs waiting or running, by state", labels=["state"]
        )
        counts = self.queue.counts()
        for state in (QUEUED, RUNNING):
            depth.add_metric([state], counts.get(state, 0))
        yield depth
        finished = CounterMetricFamily(
            "conveyor_jobs_finished", "Finished jobs, by conclusion", labels=["conclusion"]
        )
        for conclusion, count in self.queue.conclusions().items():
            finished.add_metric([conclusion or "none"], count)
        yield finished
        count, total, cumulative = self.queue.durations(DURATION_BUCKETS)
        buckets = [(str(bound), n) for bound, n in zip(DURATION_BUCKETS, cumulative, strict=True)]
        buckets.append(("+Inf", count))
        histogram = HistogramMetricFamily(
            "conveyor_job_duration_seconds", "From a job's start to its verdict"
        )
        histogram.add_metric([], buckets, sum_value=total)
        yield histogram


class _RefusalCollector(Collector):
    """Installations on accounts not in ALLOWED_OWNERS, which Conveyor left: read from the
    database, so that it counts each once whichever process refused it, across restarts."""

    def __init__(self, installations: Installations) -> None:
        self.installations = installations

    def collect(self) -> Iterator[Any]:
        refused = CounterMetricFamily(
            "conveyor_installations_refused",
            "Installations on accounts not in ALLOWED_OWNERS, refused and uninstalled",
        )
        refused.add_metric([], self.installations.refused_count())
        yield refused


class _SlotCollector(Collector):
    def __init__(self, slots: int, busy: Callable[[], int]) -> None:
        self.slots = slots
        self.busy = busy

    def collect(self) -> Iterator[Any]:
        busy = self.busy()
        family = GaugeMetricFamily(
            "conveyor_job_slots", "This process's job slots (WORKERS), by state", labels=["state"]
        )
        family.add_metric(["busy"], busy)
        family.add_metric(["idle"], max(0, self.slots - busy))
        yield family
