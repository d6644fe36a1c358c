"""app/suite/package_index.py: which of the service's settings reach the install commands, the
credentials in them, and the settings a fork's run gets without them."""

from __future__ import annotations

from app.suite.package_index import (
    index_credentials,
    package_index_settings,
    without_credentials,
)


def test_only_the_package_index_settings_that_are_set_are_taken_in_their_order() -> None:
    environ = {
        "GITHUB_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----",
        "PIP_TRUSTED_HOST": "pypi.corp.example",
        "PIP_INDEX_URL": "https://pypi.corp.example/simple",
        "PIP_EXTRA_INDEX_URL": "",
        "https_proxy": "http://proxy.corp.example:3128",
    }
    assert package_index_settings(environ) == (
        ("PIP_INDEX_URL", "https://pypi.corp.example/simple"),
        ("PIP_TRUSTED_HOST", "pypi.corp.example"),
        ("https_proxy", "http://proxy.corp.example:3128"),
    )


def test_credentials_are_found_in_index_urls_and_taken_out_for_untrusted_runs() -> None:
    settings = (
        ("PIP_INDEX_URL", "https://ci-bot:p%40ss-w0rd-long@pypi.corp.example/simple"),
        ("PIP_EXTRA_INDEX_URL", "https://pypi.org/simple https://tok3n-abcdef@more.example/s"),
        ("PIP_TRUSTED_HOST", "pypi.corp.example"),
    )
    found = index_credentials(settings)
    for secret in ("ci-bot:p%40ss-w0rd-long", "p%40ss-w0rd-long", "p@ss-w0rd-long", "tok3n-abcdef"):
        assert secret in found
    assert "pypi.org" not in " ".join(found)
    assert without_credentials(settings) == (
        ("PIP_INDEX_URL", "https://pypi.corp.example/simple"),
        ("PIP_EXTRA_INDEX_URL", "https://pypi.org/simple https://more.example/s"),
        ("PIP_TRUSTED_HOST", "pypi.corp.example"),
    )


def test_settings_without_credentials_are_left_as_they_are() -> None:
    settings = (
        ("PIP_INDEX_URL", "https://pypi.org/simple"),
        ("PIP_CERT", "/etc/ssl/certs/corp.pem"),
        ("NO_PROXY", "localhost,.corp.example"),
    )
    assert index_credentials(settings) == ()
    assert without_credentials(settings) == settings
