"""app/metrics.py: the text a Prometheus scrape gets, from this process's counts (webhooks,
GitHub calls seen by a real client session, job slots) and from a real queue's database."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from app.metrics import Metrics
from app.state import State, open_state
from tests.state.factories import SHA_B, SHA_C, finish, new_job, request

# What the queue's metrics are read from is tested on both databases in tests/state/test_jobs.py.
DATABASES = ("sqlite",)


def samples(metrics: Metrics) -> dict[str, float]:
    """Each sample line of the exposition text, `name{labels}` to its value."""
    found: dict[str, float] = {}
    for line in metrics.render().decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


@pytest.fixture
def state(database_url: str | None, tmp_path: Path) -> Iterator[State]:
    opened = open_state(database_url, tmp_path / "data")
    yield opened
    opened.close()


def test_an_idle_web_process_says_the_queue_is_empty(state: State) -> None:
    found = samples(Metrics(state.jobs, state.installations))
    assert found['conveyor_jobs{state="queued"}'] == 0
    assert found['conveyor_jobs{state="running"}'] == 0
    assert found["conveyor_job_duration_seconds_count"] == 0
    assert found['conveyor_job_duration_seconds_bucket{le="+Inf"}'] == 0
    assert found["conveyor_installations_refused_total"] == 0
    assert found["conveyor_github_rate_limit_remaining"] == 0
    assert not any(name.startswith("conveyor_jobs_finished") for name in found)
    assert not any(name.startswith("conveyor_job_slots") for name in found)


def test_webhooks_are_counted_by_event_and_answer() -> None:
    metrics = Metrics(None)
    metrics.webhooks.labels("push", "202").inc()
    metrics.webhooks.labels("push", "202").inc()
    metrics.webhooks.labels("other", "401").inc()
    text = metrics.render().decode()
    assert "# TYPE conveyor_webhooks_total counter" in text.splitlines()
    found = samples(metrics)
    assert found['conveyor_webhooks_total{event="push",status="202"}'] == 2
    assert found['conveyor_webhooks_total{event="other",status="401"}'] == 1


def test_the_queue_is_read_from_the_database_at_each_scrape(state: State) -> None:
    metrics = Metrics(state.jobs, state.installations)
    passed = new_job(state.jobs, request(lane="l1"))
    failed = new_job(state.jobs, request(SHA_B, lane="l2"))
    running = new_job(state.jobs, request(SHA_C, lane="l3"))
    new_job(state.jobs, request("d" * 40, lane="l4"))  # stays queued
    for number, job in enumerate((passed, failed, running), start=1):
        state.jobs.set_check_run(job.id, number)
        claimed = state.jobs.claim()
        assert claimed is not None
        assert claimed.id == job.id
    finish(state.jobs, passed, "success")
    finish(state.jobs, failed, "failure")
    assert state.installations.claim_refusal(99, "mallory", retry_after=60) is True

    found = samples(metrics)
    assert found['conveyor_jobs{state="queued"}'] == 1
    assert found['conveyor_jobs{state="running"}'] == 1
    assert found['conveyor_jobs_finished_total{conclusion="success"}'] == 1
    assert found['conveyor_jobs_finished_total{conclusion="failure"}'] == 1
    assert found["conveyor_job_duration_seconds_count"] == 2
    assert found['conveyor_job_duration_seconds_bucket{le="3600.0"}'] == 2
    assert found['conveyor_job_duration_seconds_bucket{le="+Inf"}'] == 2
    assert found["conveyor_installations_refused_total"] == 1

    finish(state.jobs, running, "success")
    found = samples(metrics)
    assert found['conveyor_jobs{state="running"}'] == 0
    assert found['conveyor_jobs_finished_total{conclusion="success"}'] == 2
    assert found["conveyor_job_duration_seconds_count"] == 3


def test_a_worker_process_says_its_slots_and_nothing_of_the_queue() -> None:
    busy = [0]
    metrics = Metrics(None)
    metrics.track_slots(3, lambda: busy[0])
    found = samples(metrics)
    assert (
        found['conveyor_job_slots{state="busy"}'],
        found['conveyor_job_slots{state="idle"}'],
    ) == (
        0,
        3,
    )
    assert not any(name.startswith(("conveyor_jobs", "conveyor_job_duration")) for name in found)
    assert "conveyor_installations_refused_total" not in found
    busy[0] = 2
    found = samples(metrics)
    assert (
        found['conveyor_job_slots{state="busy"}'],
        found['conveyor_job_slots{state="idle"}'],
    ) == (
        2,
        1,
    )
    busy[0] = 5  # more than the slots: never a negative idle count
    assert samples(metrics)['conveyor_job_slots{state="idle"}'] == 0


def test_the_exposition_is_what_prometheus_reads(state: State) -> None:
    metrics = Metrics(state.jobs, state.installations)
    metrics.webhooks.labels("ping", "200").inc()
    metrics.track_slots(2, lambda: 1)
    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
    assert families["conveyor_webhooks"].type == "counter"
    assert families["conveyor_jobs"].type == "gauge"
    assert families["conveyor_jobs_finished"].type == "counter"
    assert families["conveyor_job_duration_seconds"].type == "histogram"
    assert families["conveyor_installations_refused"].type == "counter"
    assert families["conveyor_job_slots"].type == "gauge"
    assert families["conveyor_github_rate_limit_remaining"].type == "gauge"
    [ping] = [s for s in families["conveyor_webhooks"].samples if s.name.endswith("_total")]
    assert (ping.labels, ping.value) == ({"event": "ping", "status": "200"}, 1.0)


@pytest.fixture
async def fake_api() -> AsyncIterator[str]:
    """An HTTP server on 127.0.0.1 that answers as GitHub's API might."""

    async def limited(request: web.Request) -> web.Response:
        return web.json_response({}, headers={"x-ratelimit-remaining": "4998"})

    async def missing(request: web.Request) -> web.Response:
        return web.json_response({"message": "Not Found"}, status=404)

    async def garbled(request: web.Request) -> web.Response:
        return web.json_response({}, headers={"x-ratelimit-remaining": "lots"})

    app = web.Application()
    app.router.add_get("/limited", limited)
    app.router.add_post("/missing", missing)
    app.router.add_get("/garbled", garbled)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


def closed_port() -> int:
    """A port nothing listens on: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_github_calls_are_counted_and_the_rate_limit_read(fake_api: str) -> None:
    metrics = Metrics(None)
    async with aiohttp.ClientSession(trace_configs=[metrics.trace_config()]) as session:
        async with session.get(f"{fake_api}/limited") as response:
            assert response.status == 200
        # An answer without the header (or with a garbled one) leaves the last value.
        async with session.post(f"{fake_api}/missing") as response:
            assert response.status == 404
        async with session.get(f"{fake_api}/garbled") as response:
            assert response.status == 200
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"http://127.0.0.1:{closed_port()}/")
    found = samples(metrics)
    assert found['conveyor_github_api_calls_total{method="GET",status="200"}'] == 2
    assert found['conveyor_github_api_calls_total{method="POST",status="404"}'] == 1
    assert found['conveyor_github_api_calls_total{method="GET",status="error"}'] == 1
    assert found["conveyor_github_rate_limit_remaining"] == 4998
