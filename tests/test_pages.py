"""app/pages.py: the run's page."""

from __future__ import annotations

from typing import Any

from app.pages import LOG_WINDOW, run_page
from app.run_request import RunRequest
from app.state.jobs import INTERRUPTED_KILLED, Job


def job(**fields: Any) -> Job:
    values: dict[str, Any] = {
        "id": 7,
        "public_id": "p" * 32,
        "request": RunRequest(
            repo_full_name="octo/hello",
            repo_id=1,
            installation_id=2,
            clone_url="https://github.com/octo/hello.git",
            head_sha="a" * 40,
            fetch_ref="refs/heads/main",
            lane="1:branch:main",
            reason="push",
            head_branch="main",
            commit_message="change",
        ),
        "check_name": "tests",
        "rerun_of": None,
        "state": "running",
        "cancel_reason": None,
        "check_run_id": 3,
        "conclusion": None,
        "output": None,
        "reported": False,
        "attempts": 1,
        "created_at": 0.0,
        "started_at": 0.0,
        "finished_at": None,
    }
    values.update(fields)
    return Job(**values)


def test_a_later_attempt_says_there_was_an_earlier_one() -> None:
    assert "Attempt" not in run_page(job(), b"", 0)
    page = run_page(job(attempts=2, interrupted=INTERRUPTED_KILLED), b"", 0)
    assert "Attempt 2: the first attempt stopped when its process was killed" in page


def test_the_page_polls_from_the_output_s_size_not_the_shown_bytes() -> None:
    # The log's cap dropped bytes: what is shown is shorter than the output.
    page = run_page(job(), b"head\n... 900 bytes omitted ...\ntail\n", 1000)
    assert "let offset = 1000;" in page
    assert "<script>" not in run_page(job(state="finished"), b"", 0)


def test_a_long_log_shows_its_start_and_its_end() -> None:
    lines = [f"line {n:06d}\n".encode() for n in range(LOG_WINDOW // 6)]
    data = b"".join(lines)
    page = run_page(job(), data, len(data))
    assert "line 000000\n" in page
    assert lines[-1].decode() in page
    assert "bytes not shown here (the raw log has them)" in page
    assert len(page) < LOG_WINDOW + 10_000
