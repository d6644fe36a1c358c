"""Deliveries replayed under a new delivery id, through the real service: a signed body is
acted on once, whatever `X-GitHub-Delivery` says. On both databases."""

from __future__ import annotations

import json
import uuid

from tests.e2e.harness import FAILING, PASSING, Harness


async def test_a_rerequested_check_run_replayed_under_a_new_id_runs_once(
    harness: Harness,
) -> None:
    github = harness.github
    harness.commit(PASSING, "calculator")
    await harness.push("main")
    harness.branch("negative")
    sha = harness.commit(FAILING, "test negatives")
    await harness.push("negative")
    [failed] = await harness.completed(sha)
    assert failed.conclusion == "failure"

    # "Re-run" on the failed run: GitHub's signed check_run rerequested.
    [rerequested] = await github.rerequest_check_run(failed.id)
    assert rerequested.status == 202
    runs = await harness.completed(sha, count=2)

    # The same signed body again, under delivery ids of someone's choosing.
    for _ in range(2):
        replay = await github.send_webhook(
            harness.app,
            "check_run",
            rerequested.payload(),
            delivery_id=str(uuid.uuid4()),
            raw_body=rerequested.body,
        )
        assert replay.status == 200
        assert json.loads(replay.response_body) == {"status": "duplicate delivery ignored"}
    assert f"the same body as delivery {rerequested.delivery_id}, replayed" in harness.logs()

    # Whatever the service would have done with it, it does before a later push's run ends.
    harness.branch("main")
    later = harness.commit({"later.txt": "later\n"}, "later")
    await harness.push("main")
    await harness.completed(later)
    assert [r.id for r in harness.runs(sha)] == [r.id for r in runs]
    assert len(runs) == 2
