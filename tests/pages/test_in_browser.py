"""The run page in a real browser (Chromium through Playwright), served by the real web app from
a real database: what a person sees, clicks and follows."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Page, async_playwright

from app.localgithub import LocalGitHub
from app.report.model import Annotation, CheckOutput
from app.settings import Settings
from app.state import State
from app.state.database import open_database
from app.state.jobs import Job
from app.web import create_app
from tests.state.factories import new_job, request

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HOSTILE = '<img src=x onerror="window.hacked=1">'
FAILURES = "| test | message |\n| --- | --- |\n| `test_add` | assert 3 == 4 |\n"


@dataclass
class Served:
    url: str
    state: State  # the same database the web app reads
    installation_id: int
    repo_id: int

    def add(self, **fields: Any) -> Job:
        asked = request(
            html_url="https://github.com/octo/hello",
            installation_id=self.installation_id,
            repo_id=self.repo_id,
            **fields,
        )
        return new_job(self.state.jobs, asked)

    def log(self, job: Job, data: bytes) -> None:
        _, size = self.state.logs.read(job.id)
        self.state.logs.append(job.id, size, data, attempt=0)

    def page_of(self, job: Job) -> str:
        return f"{self.url}/runs/{job.public_id}"


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    github = LocalGitHub(tmp_path / "github")
    api_url = await github.start()
    app = github.register_app(name="conveyor", webhook_url=None, webhook_secret="s")
    # Real ones: the service's sweeper announces the jobs added here on the local GitHub.
    installation_id = await github.install(app, account="octo")
    repo = await github.create_repository("octo", "hello", installation_id=installation_id)
    settings = Settings(
        app_id=str(app.id),
        private_key=app.private_key_pem,
        webhook_secret="s",
        api_url=api_url,
        port=0,
        data_dir=tmp_path / "data",
        public_url="http://127.0.0.1:1",
        workers=1,
    )
    runner = web.AppRunner(create_app(settings, workers=0))  # the tests set the jobs' state
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state = State.on(open_database(None, settings.data_dir))
    try:
        yield Served(f"http://127.0.0.1:{port}", state, installation_id, repo.id)
    finally:
        state.close()
        await runner.cleanup()
        await github.stop()


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed (.ci/run installs it)", pytrace=False)
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            tab = await browser.new_page(viewport={"width": 1000, "height": 700})
            yield tab
        finally:
            await browser.close()


def failed_output(message: str = "assert 3 == 4") -> CheckOutput:
    return CheckOutput(
        "failure",
        "1 test failed",
        f"✘ **1 test failed**\n\n{FAILURES}",
        "",
        (Annotation("calc.py", 3, 3, "failure", message, "test_calc.py::test_add"),),
    )


async def test_a_failing_run_shows_its_failures_as_a_table_and_its_colours_as_colours(
    served: Served, page: Page
) -> None:
    job = served.add()
    served.log(job, b"\x1b[32mPASSED\x1b[0m test_one\n\x1b[31mFAILED\x1b[0m test_add\n")
    served.state.jobs.finish(job.id, failed_output())

    answer = await page.goto(served.page_of(job))

    # The page's own script runs by its nonce, nothing else would.
    assert answer is not None
    policy = answer.headers["content-security-policy"]
    assert "script-src 'nonce-" in policy
    assert "default-src 'none'" in policy
    cells = await page.locator(".summary table td").all_inner_texts()
    assert cells == ["test_add", "assert 3 == 4"]
    log = await page.inner_text("#log")
    assert "PASSED test_one" in log
    assert "\x1b" not in log
    assert "[32m" not in log
    green = page.locator("#log .fg-green", has_text="PASSED")
    assert await green.evaluate("e => getComputedStyle(e).color") == "rgb(63, 185, 80)"
    assert await page.inner_text("#state") == "failure"


async def test_a_line_link_opens_its_section_and_shows_the_line(served: Served, page: Page) -> None:
    job = served.add()
    install = "".join(f"installing {n}\n" for n in range(300))
    served.log(job, f"── Installing (network on) ── [0.1s]\n{install}".encode())
    served.log(
        job, b"\n\xe2\x94\x80\xe2\x94\x80 Testing (network off) \xe2\x94\x80\xe2\x94\x80 [9.0s]\n"
    )
    served.log(job, b"".join(b"test %d ok\n" % n for n in range(300)))
    served.state.jobs.finish(job.id, failed_output())

    await page.goto(served.page_of(job) + "#L150")

    # Line 150 is in the first section, folded on a finished run: the link opens it.
    line = page.locator("#L150")
    await line.wait_for(state="visible")
    assert "installing 148" in await line.inner_text()
    assert await line.evaluate("e => e.closest('details').open")
    box = await line.bounding_box()
    assert box is not None
    assert -1 <= box["y"] <= 700  # scrolled to it
    # Clicking a line's number makes its own permalink.
    await page.click("#L40 > a")
    assert page.url.endswith("#L40")


async def test_a_live_run_s_page_grows_follows_and_ends_with_the_verdict(
    served: Served, page: Page
) -> None:
    job = served.add()
    served.log(job, b"".join(b"early %d\n" % n for n in range(100)))
    await page.goto(served.page_of(job))
    assert await page.inner_text("#state") == "queued"

    served.log(job, b"".join(b"later %d\n" % n for n in range(100)) + b"\x1b[33mhalf\x1b[0m")
    last = page.locator("#L200")
    await last.wait_for(state="visible")
    assert "later 99" in await last.inner_text()
    box = await last.bounding_box()
    assert box is not None
    assert -1 <= box["y"] <= 700  # followed: the newest line is in view
    # The unfinished line waits until it is whole, then comes in colour.
    served.log(job, b" done\n")
    await page.locator("#L201 .fg-yellow").wait_for()
    assert "half done" in await page.inner_text("#L201")

    served.state.jobs.finish(job.id, failed_output())
    await page.locator("#state", has_text="failure").wait_for()


async def test_hostile_text_is_shown_as_text(served: Served, page: Page) -> None:
    job = served.add(commit_message=HOSTILE, head_branch=HOSTILE)
    served.log(job, f"{HOSTILE}\n".encode())
    served.state.jobs.finish(job.id, failed_output(message=HOSTILE))

    await page.goto(served.page_of(job))

    body = await page.inner_text("body")
    assert body.count(HOSTILE) >= 4  # commit message, branch, annotation, log
    assert await page.locator("img").count() == 0
    assert await page.evaluate("window.hacked") is None


async def test_a_public_repository_s_history_filters_and_its_badge_follows_the_branch(
    served: Served, page: Page
) -> None:
    first = served.add(private=False, lane="a")
    served.state.jobs.finish(first.id, failed_output())
    feature = served.add(private=False, head_sha="b" * 40, head_branch="feature", lane="b")
    served.state.jobs.finish(feature.id, CheckOutput("success", "1 test passed", "ok"))

    await page.goto(f"{served.url}/octo/hello")
    assert await page.locator("table.runs tbody tr").count() == 2
    await page.select_option("select[name=conclusion]", "failure")
    await page.click("form.filters button")
    await page.wait_for_url("**conclusion=failure**")
    rows = page.locator("table.runs tbody tr")
    assert await rows.count() == 1
    await rows.locator("a").first.click()
    await page.wait_for_url(f"**/runs/{first.public_id}")

    badge = f"{served.url}/octo/hello/badge.svg?branch=main"
    await page.goto(badge)
    assert "failing" in await page.content()
    fixed = served.add(private=False, head_sha="c" * 40, lane="c")
    served.state.jobs.finish(fixed.id, CheckOutput("success", "1 test passed", "ok"))
    # The browser keeps the badge a minute (as GitHub's image proxy would): asked anew, it has
    # followed the branch.
    fresh = await page.request.get(badge)
    assert fresh.headers["cache-control"] == "max-age=60"
    assert "passing" in await fresh.text()
    await page.goto(f"{served.url}/octo/hello/latest?branch=main")
    assert page.url.endswith(f"/runs/{fixed.public_id}")

    # Addresses made by hand get a clear refusal, not a page of something else.
    bad = await page.request.get(f"{served.url}/octo/hello?pull=abc")
    assert bad.status == 400
    assert await bad.text() == "pull must be a whole number"
    refused = await page.request.get(f"{served.page_of(fixed)}/lines?offset=-1&line=1")
    assert refused.status == 400
    assert "offset and line must be whole numbers" in await refused.text()


async def test_a_private_repository_is_not_listed_to_anyone_yet(served: Served, page: Page) -> None:
    secret = served.add(private=True, commit_message="secret plans")
    served.state.jobs.finish(secret.id, failed_output())
    for address in ("/octo/hello", "/octo/hello/badge.svg?branch=main", "/octo/hello/latest"):
        answer = await page.goto(served.url + address)
        assert answer is not None
        assert answer.status == 404
    await page.goto(served.url + "/")
    assert "secret plans" not in await page.content()
    facts = await page.inner_text("ul.facts")
    assert "processes: 1 serve" in facts  # the web app serving this page
    assert "no webhook received yet" in facts
    # Its run page still opens through the check run's unguessable link.
    await page.goto(served.page_of(secret))
    assert "secret plans" in await page.content()
