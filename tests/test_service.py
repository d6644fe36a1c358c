"""app/service.py: what one process hides from the runs, and what it says at start."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from app.localgithub import GitHubApp, LocalGitHub
from app.service import Service, hidden_for
from app.settings import Settings


def test_a_secret_files_own_folder_is_hidden() -> None:
    assert hidden_for(Path("/etc/conveyor/secrets.json")) == Path("/etc/conveyor")
    assert hidden_for(Path("/srv/conveyor/keys/app.pem")) == Path("/srv/conveyor/keys")
    assert hidden_for(Path("/root/app.pem")) == Path("/root")


def test_a_folder_the_runs_need_is_not_hidden_only_the_file() -> None:
    assert hidden_for(Path("/etc/app.pem")) == Path("/etc/app.pem")
    assert hidden_for(Path("/etc/ssl/private/app.pem")) == Path("/etc/ssl/private/app.pem")
    assert hidden_for(Path("/usr/local/etc/app.pem")) == Path("/usr/local/etc/app.pem")
    assert hidden_for(Path("/app.pem")) == Path("/app.pem")


# -- the warning at start when ALLOWED_OWNERS is not set ---------------------------------------


def settings_for(github: LocalGitHub, app: GitHubApp, data: Path, **more: Any) -> Settings:
    assert github.url is not None
    return Settings(
        app_id=str(app.id),
        private_key=app.private_key_pem,
        webhook_secret="s",
        api_url=github.url,
        port=0,
        data_dir=data,
        public_url="http://127.0.0.1:1",
        workers=1,
        **more,
    )


async def started_and_stopped(settings: Settings) -> Service:
    service = await Service.start(settings, role="web", workers=0)
    try:
        if service.exposure is not None:
            await service.exposure
    finally:
        await service.stop()
    return service


async def test_without_allowed_owners_the_start_says_who_can_run_code_here(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with LocalGitHub(tmp_path / "github") as github:
        app = github.register_app("conveyor", owner="octo-org")
        await github.install(app, "octo-org")
        await github.install(app, "mallory", account_type="User")
        with caplog.at_level(logging.WARNING, logger="app.service"):
            await started_and_stopped(settings_for(github, app, tmp_path / "data"))
    [warning] = [r.getMessage() for r in caplog.records if "ALLOWED_OWNERS" in r.getMessage()]
    assert warning == (
        "ALLOWED_OWNERS is not set: any GitHub account that installs this app runs code on "
        "this machine; installed on: mallory, octo-org. Set ALLOWED_OWNERS=octo-org "
        "(comma-separated logins) to refuse every other account, and register the app "
        '"Only on this account".'
    )


async def test_a_github_that_cannot_be_reached_does_not_stop_the_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    github = LocalGitHub(tmp_path / "github")
    await github.start()
    app = github.register_app("conveyor")
    settings = settings_for(github, app, tmp_path / "data", github_timeout=1.0)
    github.inject_fault("GET", "^/app$", 502, times=5, delay=5)  # slower than GITHUB_TIMEOUT
    try:
        with caplog.at_level(logging.WARNING, logger="app.service"):
            await started_and_stopped(settings)
    finally:
        await github.stop()
    [warning] = [r.getMessage() for r in caplog.records if "ALLOWED_OWNERS" in r.getMessage()]
    assert warning.startswith(
        "ALLOWED_OWNERS is not set: any GitHub account that installs this app runs code on "
        "this machine (GitHub could not be asked who has it installed: no answer within 1s)."
    )


async def test_with_allowed_owners_nothing_is_asked_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with LocalGitHub(tmp_path / "github") as github:
        app = github.register_app("conveyor")
        settings = settings_for(
            github, app, tmp_path / "data", allowed_owners=frozenset({"octo-org"})
        )
        with caplog.at_level(logging.WARNING, logger="app.service"):
            service = await started_and_stopped(settings)
        assert service.exposure is None
        assert github.calls == []
    assert not [r for r in caplog.records if "ALLOWED_OWNERS" in r.getMessage()]
