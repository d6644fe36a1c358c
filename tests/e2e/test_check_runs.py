"""A pull request's check run, from webhook to verdict, through the real service process.

On both databases where the queue decides (a run's states, supersede, re-runs, replayed
deliveries, the metrics read from the queue); on SQLite alone where the database plays no part
(annotations, a fork's fetch, the token cache, what the sandbox shows)."""

from __future__ import annotations

import io
import json

import aiohttp
import pytest

from app.localgithub import CheckRun
from tests.e2e.harness import FAILING, PASSING, SLOW, Harness


def statuses(run: CheckRun) -> list[str]:
    """The statuses the app set, in order, without repeats."""
    seen: list[str] = []
    for entry in run.history:
        if entry["status"] and (not seen or seen[-1] != entry["status"]):
            seen.append(entry["status"])
    return seen


async def test_passing_pull_request_goes_queued_in_progress_success(harness: Harness) -> None:
    harness.commit(PASSING, "calculator")
    await harness.push("main")
    harness.branch("feature")
    sha = harness.commit({"README.md": "# calc\n"}, "docs")
    await harness.push("feature")
    await harness.pull_request("feature")

    [run] = await harness.completed(sha)

    assert statuses(run) == ["queued", "in_progress", "completed"]
    assert run.conclusion == "success"
    assert run.name == "tests"
    assert run.output.title == "1 test passed"
    assert run.details_url is not None
    assert run.details_url.startswith(harness.service.url + "/runs/")
    assert run.external_id
    assert run.started_at is not None
    assert run.completed_at is not None
    async with aiohttp.ClientSession() as session:
        async with session.get(run.details_url) as page:
            assert page.status == 200
            html = await page.text()
            assert '<span class="badge success" id="state">success</span>' in html
            assert f'/commit/{sha}">{sha[:7]}</a>' in html  # linked to the commit on GitHub
            assert '<div class="row" id="L1"><a href="#L1">1</a>' in html
        async with session.get(f"{run.details_url}/lines?offset=0&line=1") as rows:
            # What the live page appends: every complete line, numbered from the one asked.
            assert rows.status == 200
            lines = int(rows.headers["X-Next-Line"]) - 1
            assert lines > 5
            assert f'id="L{lines}"' in await rows.text()
        async with session.get(f"{run.details_url}/log?download=1") as raw:
            assert raw.headers["Content-Disposition"].startswith('attachment; filename="octo-org')
        async with session.get(f"{harness.service.url}/no/such/page") as missing:
            assert missing.status == 404
            assert "<h1>Nothing here</h1>" in await missing.text()


@pytest.mark.databases("sqlite")
async def test_failing_suite_concludes_failure_with_annotation(harness: Harness) -> None:
    harness.commit(PASSING, "calculator")
    await harness.push("main")
    harness.branch("negative")
    sha = harness.commit(FAILING, "test negatives")
    await harness.push("negative")
    await harness.pull_request("negative")

    [run] = await harness.completed(sha)

    assert run.conclusion == "failure"
    assert run.output.title == "1 test failed"
    [annotation] = run.annotations
    assert annotation.path == "test_calc.py"
    assert annotation.annotation_level == "failure"
    assert "assert -5 == -6" in annotation.message
    assert "test_add_negative" in (run.output.text or "")


async def test_synchronize_cancels_the_older_run(harness: Harness) -> None:
    harness.commit(PASSING, "calculator")
    await harness.push("main")
    harness.branch("feature")
    old = harness.commit(SLOW, "slow test")
    await harness.push("feature")
    await harness.pull_request("feature")
    await harness.wait_for(old, lambda runs: any(r.status == "in_progress" for r in runs))
    harness.commit({"test_slow.py": "def test_fast():\n    pass\n"}, "fast now")
    new = await harness.push("feature")  # push, check_suite requested, pull_request synchronize

    [cancelled] = await harness.completed(old, timeout=20)
    [done] = await harness.completed(new)

    assert cancelled.conclusion == "cancelled", (cancelled.output, harness.logs()[-4000:])
    assert cancelled.output.title == f"Superseded by {new[:7]}"
    assert new in (cancelled.output.summary or "")
    assert done.conclusion == "success"


async def test_check_suite_rerequested_runs_it_again(harness: Harness) -> None:
    sha = harness.commit(PASSING, "calculator")
    await harness.push("main")
    [first] = await harness.completed(sha)

    await harness.github.rerequest_check_suite(harness.repo, sha)
    runs = await harness.completed(sha, count=2)

    assert [r.conclusion for r in runs] == ["success", "success"]
    assert runs[1].id != first.id
    assert runs[1].external_id != first.external_id


async def test_check_run_rerequested_runs_it_again(harness: Harness) -> None:
    harness.commit(PASSING, "calculator")
    await harness.push("main")
    harness.branch("negative")
    sha = harness.commit(FAILING, "test negatives")
    await harness.push("negative")
    [failed] = await harness.completed(sha)

    await harness.github.rerequest_check_run(failed.id)
    runs = await harness.completed(sha, count=2)

    assert [r.conclusion for r in runs] == ["failure", "failure"]
    assert statuses(runs[1]) == ["queued", "in_progress", "completed"]


@pytest.mark.databases("sqlite")
async def test_fork_pull_request_runs_in_the_base_repository(harness: Harness) -> None:
    harness.commit(PASSING, "calculator")
    await harness.push("main")
    fork = await harness.github.fork(harness.repo, owner="forker")
    harness.branch("from-fork")
    sha = harness.commit(FAILING, "contribution")
    await harness.github.push(fork, harness.work, "from-fork")
    await harness.github.open_pull_request(harness.repo, head="from-fork", head_repo=fork)

    [run] = await harness.completed(sha)

    assert run.repo_full_name == harness.repo.full_name
    assert run.conclusion == "failure"
    fetches = [c for c in harness.github.calls if c.kind == "git"]
    assert fetches
    assert all(harness.repo.full_name in c.path for c in fetches)


@pytest.mark.databases("sqlite")
async def test_one_installation_token_serves_many_events(harness: Harness) -> None:
    harness.commit(PASSING, "calculator")
    shas = [await harness.push("main")]
    for n in range(3):
        harness.branch(f"b{n}")
        shas.append(harness.commit({f"f{n}.py": "X = 1\n"}))
        await harness.push(f"b{n}")
        await harness.pull_request(f"b{n}")
    for sha in shas:
        await harness.completed(sha)

    assert len(harness.github.tokens_issued) == 1


async def test_forged_replayed_and_malformed_deliveries_create_nothing(
    harness: Harness,
) -> None:
    sha = harness.commit(PASSING, "calculator")
    await harness.push("main")
    [run] = await harness.completed(sha)
    real = next(d for d in harness.github.deliveries if d.event == "push")
    before = len(harness.github.check_runs())

    forged = await harness.github.send_webhook(
        harness.app, "push", real.payload(), signature="sha256=" + "0" * 64
    )
    replayed = await harness.github.send_webhook(
        harness.app, "push", real.payload(), delivery_id=real.delivery_id
    )
    malformed = await harness.github.send_webhook(
        harness.app, "push", {}, raw_body=b'{"ref": "refs/heads/main", '
    )
    no_installation = await harness.github.send_webhook(
        harness.app, "push", {k: v for k, v in real.payload().items() if k != "installation"}
    )
    unsigned = await harness.github.send_webhook(
        harness.app, "push", real.payload(), headers_override={"X-Hub-Signature-256": ""}
    )

    assert forged.status == 401
    assert replayed.status == 200
    assert malformed.status == 400
    assert no_installation.status == 400
    assert unsigned.status == 401
    async with aiohttp.ClientSession() as session:
        # File-like bodies are sent in chunks; raw bytes this large would hold the event loop.
        async with session.post(
            f"{harness.service.url}/webhook",
            data=io.BytesIO(b"x" * (26 * 1024 * 1024)),
            headers={"Content-Type": "application/json"},
        ) as response:
            assert response.status == 401  # no signature: refused before the body is read
        async with session.post(
            f"{harness.service.url}/webhook",
            data=io.BytesIO(b"x" * (26 * 1024 * 1024)),
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=00"},
        ) as response:
            assert response.status == 413
        async with session.get(f"{harness.service.url}/healthz") as health:
            assert json.loads(await health.text())["jobs"] == {"finished": 1}
    assert len(harness.github.check_runs()) == before == 1
    assert run.conclusion == "success"


@pytest.mark.databases("sqlite")
async def test_the_tests_see_no_token_key_or_setting_of_the_service(harness: Harness) -> None:
    spy = (
        "import os\n\n\n"
        "def test_environment_is_clean():\n"
        "    leaked = {k for k in os.environ if k.startswith(('GITHUB_', 'DATA_DIR', 'PORT'))}\n"
        "    assert leaked == set()\n"
        "    assert not [k for k, v in os.environ.items() if 'ghs_' in v or 'PRIVATE' in v]\n"
    )
    harness.commit({**PASSING, "test_env.py": spy}, "look around")
    await harness.push("main")
    fork = await harness.github.fork(harness.repo, owner="forker")
    harness.branch("spy")
    sha = harness.commit({"test_more.py": "def test_more():\n    pass\n"}, "more")
    await harness.github.push(fork, harness.work, "spy")
    await harness.github.open_pull_request(harness.repo, head="spy", head_repo=fork)

    [run] = await harness.completed(sha)

    assert run.conclusion == "success", run.output.text
    assert run.output.title == "3 tests passed"
    token = harness.github.tokens_issued[-1].token
    assert token not in (run.output.text or "")


async def test_metrics_after_a_run(harness: Harness) -> None:
    sha = harness.commit(PASSING, "calculator")
    await harness.push("main")
    await harness.completed(sha)
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{harness.service.url}/metrics") as response,
    ):
        lines = set((await response.text()).splitlines())
    assert 'conveyor_jobs_finished_total{conclusion="success"} 1.0' in lines
    assert 'conveyor_jobs{state="queued"} 0.0' in lines
    assert "conveyor_job_duration_seconds_count 1.0" in lines
    assert 'conveyor_github_api_calls_total{method="POST",status="201"} 2.0' in lines  # token, run
    remaining = next(line for line in lines if line.startswith("conveyor_github_rate_limit"))
    assert 4900.0 < float(remaining.split()[-1]) < 5000.0
