from __future__ import annotations

import pytest

from tests.keys import key_pair


@pytest.fixture(scope="session")
def pem() -> str:
    """A GitHub App's private key, for GITHUB_PRIVATE_KEY."""
    return key_pair()[0]
