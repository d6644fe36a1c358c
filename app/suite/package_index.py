"""The operator's way to the package index: which of the service's settings reach the install
commands, the credentials in them (masked in every run's log), and the settings without them (what
a fork's pull request gets)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import unquote, urlsplit

# The operator's way to the package index (a mirror, a proxy, a company CA), handed to the install
# commands and to nothing else. File paths must be under /etc or /usr to be seen in the sandbox.
PACKAGE_INDEX_SETTINGS = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "PIP_CERT",
    "PIP_DEFAULT_TIMEOUT",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)


UPSTREAM_PROXY_SETTINGS = frozenset(
    ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
)


def package_index_settings(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((name, environ[name]) for name in PACKAGE_INDEX_SETTINGS if environ.get(name))


def index_credentials(settings: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """The credentials in the settings' URLs (`https://user:password@host/...`), as they may
    be printed (pip echoes the index URL): the `user:password` part and the password, both
    as written and decoded. Every run's log masks them."""
    found: list[str] = []
    for _, value in settings:
        for word in value.split():
            userinfo = _userinfo(word)
            if userinfo is None:
                continue
            _, _, password = userinfo.partition(":")
            for secret in (userinfo, password):
                found += [secret, unquote(secret)]
    return tuple(dict.fromkeys(secret for secret in found if secret))


def without_credentials(settings: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The settings with the credentials taken out of their URLs: what untrusted code gets. A
    private index that needs them cannot be reached by it; the public one can."""
    cleaned = []
    for name, value in settings:
        words = []
        for word in value.split():
            userinfo = _userinfo(word)
            words.append(word if userinfo is None else word.replace(userinfo + "@", "", 1))
        cleaned.append((name, " ".join(words)))
    return tuple(cleaned)


def _userinfo(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc:
        return None
    return parts.netloc.rpartition("@")[0]
