"""app/service.py: what one process hides from the runs."""

from __future__ import annotations

from pathlib import Path

from app.service import hidden_for


def test_a_secret_files_own_folder_is_hidden() -> None:
    assert hidden_for(Path("/etc/conveyor/secrets.json")) == Path("/etc/conveyor")
    assert hidden_for(Path("/srv/conveyor/keys/app.pem")) == Path("/srv/conveyor/keys")
    assert hidden_for(Path("/root/app.pem")) == Path("/root")


def test_a_folder_the_runs_need_is_not_hidden_only_the_file() -> None:
    assert hidden_for(Path("/etc/app.pem")) == Path("/etc/app.pem")
    assert hidden_for(Path("/etc/ssl/private/app.pem")) == Path("/etc/ssl/private/app.pem")
    assert hidden_for(Path("/usr/local/etc/app.pem")) == Path("/usr/local/etc/app.pem")
    assert hidden_for(Path("/app.pem")) == Path("/app.pem")
