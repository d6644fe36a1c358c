"""The values of the secrets a repository's config names, from the operator's secrets file.

A repository says which variables its checks need (`secrets = ["PYPI_TOKEN"]`); only the
operator says what they hold, in `SECRETS_FILE`, a JSON object of repositories:

    {"octo-org/sample": {"PYPI_TOKEN": "pypi-…", "CODECOV_TOKEN": "…"}}

It is read for every job, so an edit needs no restart. Every value of the repository is masked in
its logs, named by its config or not; pull requests from forks get none of them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SecretsFileError(Exception):
    """The secrets file cannot be used; the message names the file and where, never a value."""


def repository_secrets(path: Path | None, repository: str) -> dict[str, str]:
    """The secrets of `repository` (owner/name, as GitHub spells it; compared without case)."""
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise SecretsFileError(f"{path}: cannot be read ({type(error).__name__})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        # The position only: the message of a JSON error may quote the text around it.
        raise SecretsFileError(
            f"{path}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})"
        ) from None
    if not isinstance(data, dict):
        raise SecretsFileError(f"{path}: must be a JSON object of repositories")
    wanted = repository.lower()
    found = next((v for k, v in data.items() if str(k).lower() == wanted), None)
    if found is None:
        return {}
    if not isinstance(found, dict):
        raise SecretsFileError(f"{path}: {repository!r} must map variable names to strings")
    values: dict[str, str] = {}
    for name, value in found.items():
        if not NAME.fullmatch(str(name)) or not isinstance(value, str):
            raise SecretsFileError(
                f"{path}: {repository!r}: {str(name)[:40]!r} must be a variable name with a "
                "string value"
            )
        values[name] = value
    return values
