"""A project locked with uv is installed from its lock, as its own CI and tox-uv install it.

`uv.lock` pins every version the project is tested with; installing its declared ranges with
pip instead takes the newest of each, which the project may not support yet (a test importing a
private name pytest removed in its next major version, say). `uv sync --frozen` installs the
locked versions as they are written, without resolving again, into the check's virtualenv
(UV_PROJECT_ENVIRONMENT); `--inexact` keeps what is there already (pip, which later installs
need), `--no-default-groups` installs only the groups asked for, and uv never downloads an
interpreter: the check's Python is the one chosen (UV_PYTHON, over a `.python-version` pin of
another version, which would have uv look for that one). uv trusts the machine's certificate
store, as pip does (an operator's company CA or TLS-inspecting proxy), not only its own.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

UV_LOCK = "uv.lock"
INSTALL_UV = "python -m pip install -q uv"


def uv_sync(arguments: Sequence[str]) -> tuple[str, ...]:
    """The install commands for a locked project: uv itself, then `uv sync` of the locked
    versions with `arguments` (`--group tests`, `--extra yaml`...)."""
    return uv_sync_as_written(["--frozen", "--inexact", "--no-default-groups", *arguments])


def uv_sync_as_written(arguments: Sequence[str]) -> tuple[str, ...]:
    """`uv sync ARGUMENTS` as a project's own command writes it, into the check's virtualenv."""
    where = (
        'UV_PROJECT_ENVIRONMENT="$VIRTUAL_ENV" UV_PYTHON="$VIRTUAL_ENV/bin/python" '
        "UV_PYTHON_DOWNLOADS=never UV_SYSTEM_CERTS=1"
    )
    return (INSTALL_UV, f"{where} {shlex.join(['uv', 'sync', *arguments])}")
