"""app/pages/__init__.py: the run's page, rendered whole."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any

from app.pages import log_lines, not_found, run_page
from app.pages.log_view import WINDOW
from app.report.model import Annotation, CheckOutput
from app.state.jobs import INTERRUPTED_KILLED, Job
from tests.state.factories import request


def job(**fields: Any) -> Job:
    values: dict[str, Any] = {
        "id": 7,
        "public_id": "p" * 32,
        "request": request(
            commit_message="change", html_url="https://github.com/octo/hello", author="octocat"
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
    assert "let offset = 1000," in page
    assert "poll()" not in run_page(job(state="finished"), b"", 0)


def test_a_long_log_shows_its_start_and_its_end() -> None:
    lines = [f"line {n:06d}\n".encode() for n in range(WINDOW // 6)]
    data = b"".join(lines)
    page = run_page(job(), data, len(data))
    assert ">line 000000<" in page
    assert f">{lines[-1].decode().strip()}<" in page
    [gap] = re.findall(r"… (\d+) lines \([^)]*\) not shown here", page)
    shown = len(re.findall(r'<div class="row" id="L\d+">', page))
    assert shown + int(gap) == len(lines)
    # The last line keeps its own number: a permalink to it is the same on the raw log.
    assert f'id="L{len(lines)}"' in page
    assert len(page) < 6 * WINDOW


HOSTILE = "<script>alert(1)</script>"


class Text(HTMLParser):
    """What a browser would show as text, and every tag and attribute it would build."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(page: str) -> Text:
    text = Text()
    text.feed(page)
    return text


def failed() -> Job:
    output = CheckOutput(
        "failure",
        "1 test failed",
        "| test | message |\n| --- | --- |\n| `test_add` | assert 3 == 4 |\n\n**bold**",
        "### Failures\n\n```\nTraceback\n```",
        (Annotation("pkg/calc.py", 12, 12, "failure", "assert 3 == 4", "test_add"),),
    )
    return job(state="finished", conclusion="failure", output=output, finished_at=75.0)


def test_the_summary_is_rendered_as_github_renders_markdown() -> None:
    page = run_page(failed(), b"", 0)
    tags = [tag for tag, _ in parsed(page).tags]
    assert "table" in tags
    assert "strong" in tags
    assert "| test |" not in page
    assert "**bold**" not in page


def test_the_header_links_the_commit_branch_and_the_failing_line() -> None:
    page = run_page(failed(), b"", 0)
    links = {dict(attrs).get("href") for tag, attrs in parsed(page).tags if tag == "a"}
    assert "https://github.com/octo/hello/commit/" + "a" * 40 in links
    assert "https://github.com/octo/hello/tree/main" in links
    assert "https://github.com/octo/hello/blob/" + "a" * 40 + "/pkg/calc.py#L12" in links
    assert re.search(r"took <span id=\"took\">1m 15s</span>", page)
    assert '<q>change</q> by <span class="author">octocat</span>' in page


def test_a_pull_request_run_links_the_pull_request() -> None:
    pull = job()
    pull = job(request=replace(pull.request, pull_number=42, head_branch="feature"))
    assert 'href="https://github.com/octo/hello/pull/42"' in run_page(pull, b"", 0)


def test_untrusted_text_is_shown_as_text_everywhere() -> None:
    hostile = job(
        state="finished",
        conclusion="failure",
        check_name=HOSTILE,
        request=replace(job().request, commit_message=HOSTILE, head_branch=HOSTILE, author=HOSTILE),
        output=CheckOutput(
            "failure",
            HOSTILE,
            f"{HOSTILE} [x](javascript:alert(1)) <img src=x onerror=alert(1)>",
            HOSTILE,
            (Annotation(HOSTILE, 1, 1, "failure", HOSTILE, HOSTILE),),
        ),
    )
    log = f"{HOSTILE}\n\x1b[31m{HOSTILE}\x1b[0m\n".encode()
    page = run_page(hostile, log, len(log))
    text = parsed(page)
    scripts = [tag for tag, _ in text.tags if tag == "script"]
    assert len(scripts) == 1  # the page's own
    assert not any(tag == "img" for tag, _ in text.tags)
    hrefs = [dict(attrs).get("href") or "" for tag, attrs in text.tags if tag == "a"]
    assert not any(href.startswith("javascript") for href in hrefs)
    assert sum(HOSTILE in chunk for chunk in text.text) >= 6


def test_colour_codes_become_colours_not_escape_codes() -> None:
    log = b"\x1b[32mPASSED\x1b[0m plain \x1b[1;31mFAILED\x1b[0m\n"
    page = run_page(failed(), log, len(log))
    assert "\x1b" not in page
    assert (
        '<span class="fg-green">PASSED</span> plain <span class="bold fg-red">FAILED</span>' in page
    )


def test_sections_fold_with_their_durations_and_the_last_is_open() -> None:
    log = (
        "Fetched\n\n── Installing (network on) ── [0.5s]\n$ pip install\n"
        "\n── Testing (network off) ── [20.5s]\n$ pytest\nFAILED\n"
    ).encode()
    page = run_page(failed(), log, len(log))
    assert re.search(
        r"<details class=\"section\"><summary>Installing \(network on\)"
        r"<span class=\"took\">20.0s</span>",
        page,
    )
    # The run took 75 s from its start: the last section, 54.5 s of it, is open.
    assert re.search(
        r"<details class=\"section\" open><summary>Testing \(network off\)"
        r"<span class=\"took\">54.5s</span>",
        page,
    )


def test_live_lines_continue_the_numbering() -> None:
    rows = log_lines(b"one\ntwo\n", 41)
    assert 'id="L41"' in rows
    assert 'id="L42"' in rows
    assert "L43" not in rows


def test_the_not_found_page_says_so() -> None:
    page = not_found("There is no run at this address.")
    assert "There is no run at this address." in page
    assert "<h1>Nothing here</h1>" in page


def test_a_failed_run_s_details_are_open_and_a_replaced_run_links_its_replacement() -> None:
    from app.state.job_history import Related

    newer = job(id=8, public_id="n" * 32, request=replace(job().request, head_sha="b" * 40))
    page = run_page(
        failed(), b"", 0, related=Related(rerun_of=None, reruns=(newer,), replaced_by=newer)
    )
    assert '<details class="markdown details" open>' in page
    assert f'Replaced by <a href="/runs/{"n" * 32}">bbbbbbb running</a>' in page
    assert f'Run again: <a href="/runs/{"n" * 32}">' in page
