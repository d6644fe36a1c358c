"""app/suite/secret_values.py: the operator's values for the secrets repositories name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.suite.secret_values import SecretsFileError, repository_secrets


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_no_file_or_no_entry_means_no_secrets(tmp_path: Path) -> None:
    assert repository_secrets(None, "octo/a") == {}
    assert repository_secrets(tmp_path / "absent.json", "octo/a") == {}
    path = write(tmp_path / "s.json", {"octo/b": {"X": "1"}})
    assert repository_secrets(path, "octo/a") == {}


def test_a_repositorys_values_whatever_the_case_of_its_name(tmp_path: Path) -> None:
    path = write(tmp_path / "s.json", {"Octo/A": {"PYPI_TOKEN": "pypi-1", "_X2": ""}})
    assert repository_secrets(path, "octo/a") == {"PYPI_TOKEN": "pypi-1", "_X2": ""}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"octo/a": {"T": "hunter2"', r"s\.json:1:\d+: not valid JSON"),
        ('["hunter2"]', "must be a JSON object of repositories"),
        ('{"octo/a": "hunter2"}', "must map variable names to strings"),
        ('{"octo/a": {"not a name": "hunter2"}}', "'not a name' must be a variable name"),
        ('{"octo/a": {"T": 5}}', "'T' must be a variable name with a string value"),
    ],
)
def test_a_broken_file_says_where_and_never_shows_a_value(
    tmp_path: Path, content: str, message: str
) -> None:
    path = write(tmp_path / "s.json", content)
    with pytest.raises(SecretsFileError, match=message) as error:
        repository_secrets(path, "octo/a")
    assert "hunter2" not in str(error.value)
