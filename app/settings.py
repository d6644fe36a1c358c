"""The service's settings, read once from the environment.

A missing or malformed setting stops the start with one line that names it: the operator sees
`GITHUB_APP_ID: must be a whole number, got 'abc'` instead of a traceback.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_API_URL = "https://api.github.com"
# A GitHub login: letters, digits and hyphens (GitHub's rule for users and organisations), and
# the underscore of Enterprise Managed Users' `handle_shortcode`; at most 39 characters, plus a
# shortcode.
LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    app_id: str
    private_key: str
    webhook_secret: str
    api_url: str
    port: int
    data_dir: Path
    public_url: str
    workers: int
    host: str = "127.0.0.1"
    job_timeout: float = 3600.0
    job_memory_mb: int = 4096
    job_processes: int = 512
    job_disk_mb: int = 10 * 1024
    # A run's log is capped at this many kB, its head and tail kept (on disk and in the database).
    log_limit_kb: int = 16 * 1024
    # Days a finished run's log is kept in the database (its verdict and results stay).
    log_retention_days: int = 90
    allow_unsandboxed: bool = False
    private_key_path: Path | None = None
    # PostgreSQL, shared by web and worker processes; None: SQLite in the data folder.
    database_url: str | None = None
    # The values of the secrets repositories name (JSON: {"owner/repo": {"NAME": "value"}}).
    secrets_file: Path | None = None
    # Seconds one call to GitHub may take before it is given up (and retried).
    github_timeout: float = 30.0
    # A `worker` process serves /metrics and /healthz on this port (a web process on PORT).
    metrics_port: int | None = None
    # The accounts (lowercase logins) whose installations may run code here; None: any account.
    allowed_owners: frozenset[str] | None = None
    # Seconds between two sweeps (taking over what dead processes left, redelivering verdicts).
    sweep_interval: float = 10.0

    @property
    def database_password(self) -> str | None:
        if not self.database_url:
            return None
        from psycopg.conninfo import conninfo_to_dict

        return str(conninfo_to_dict(self.database_url).get("password") or "") or None

    def __repr__(self) -> str:
        # Settings end up in tracebacks and debug logs; the key and secret must not.
        return (
            f"Settings(app_id={self.app_id!r}, api_url={self.api_url!r}, port={self.port}, "
            f"data_dir={str(self.data_dir)!r}, public_url={self.public_url!r}, "
            f"workers={self.workers}, private_key=<hidden>, webhook_secret=<hidden>)"
        )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from `env` (the process environment by default)."""
    env = os.environ if env is None else env
    app_id = _required(env, "GITHUB_APP_ID")
    if not re.fullmatch(r"[0-9]+", app_id):
        raise SettingsError(f"GITHUB_APP_ID: must be the app's numeric id, got {app_id!r}")
    port = _integer(env, "PORT", default=8000, low=0, high=65535)
    api_url = _url(env, "GITHUB_API_URL", DEFAULT_API_URL).rstrip("/")
    return Settings(
        app_id=app_id,
        private_key=_private_key(env),
        webhook_secret=_required(env, "GITHUB_WEBHOOK_SECRET"),
        api_url=api_url,
        port=port,
        host=env.get("HOST", "0.0.0.0").strip() or "0.0.0.0",  # noqa: S104 - a server listens
        data_dir=Path(env.get("DATA_DIR", "").strip() or "data").resolve(),
        public_url=_public_url(env, api_url, port),
        workers=_integer(env, "WORKERS", default=2, low=1, high=256),
        job_timeout=float(_integer(env, "JOB_TIMEOUT", default=3600, low=1, high=86400)),
        job_memory_mb=_integer(env, "JOB_MEMORY_MB", default=4096, low=64, high=1024 * 1024),
        job_processes=_integer(env, "JOB_PROCESSES", default=512, low=16, high=100_000),
        job_disk_mb=_integer(
            env, "JOB_DISK_MB", default=10 * 1024, low=16, high=1024 * 1024 * 1024
        ),
        log_limit_kb=_integer(env, "LOG_LIMIT_KB", default=16 * 1024, low=64, high=1024 * 1024),
        log_retention_days=_integer(env, "LOG_RETENTION_DAYS", default=90, low=1, high=36500),
        allow_unsandboxed=_boolean(env, "ALLOW_UNSANDBOXED"),
        private_key_path=(
            Path(env["GITHUB_PRIVATE_KEY_PATH"]).resolve()
            if env.get("GITHUB_PRIVATE_KEY_PATH", "").strip()
            else None
        ),
        database_url=_database_url(env),
        github_timeout=float(_integer(env, "GITHUB_TIMEOUT", default=30, low=1, high=600)),
        secrets_file=(
            Path(env["SECRETS_FILE"]).resolve() if env.get("SECRETS_FILE", "").strip() else None
        ),
        metrics_port=(
            _integer(env, "METRICS_PORT", default=0, low=1, high=65535)
            if env.get("METRICS_PORT", "").strip()
            else None
        ),
        allowed_owners=_logins(env, "ALLOWED_OWNERS"),
        sweep_interval=float(_integer(env, "SWEEP_INTERVAL", default=10, low=1, high=3600)),
    )


def _logins(env: Mapping[str, str], name: str) -> frozenset[str] | None:
    """Comma-separated account logins, lowercased (GitHub logins ignore case); None if unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    logins = [item.strip() for item in raw.split(",")]
    for login in logins:
        if login and not LOGIN.fullmatch(login):
            raise SettingsError(
                f"{name}: {login!r} is not a GitHub account login (letters, digits and hyphens;"
                " name the accounts, users or organisations, that may install the app)"
            )
    named = frozenset(login.lower() for login in logins if login)
    if not named:
        raise SettingsError(f"{name}: names no account; set it to logins, e.g. {name}=octo-org")
    return named


def _database_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("DATABASE_URL", "").strip()
    if not raw:
        return None
    scheme = urlsplit(raw).scheme
    if scheme not in ("postgresql", "postgres"):
        # Never echo the value: it usually holds a password.
        raise SettingsError(
            "DATABASE_URL: must be a postgresql:// URL, got one starting "
            f"{scheme + '://' if scheme else 'without a scheme'}; leave it unset to keep the data"
            " in SQLite in DATA_DIR"
        )
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(raw)
    except Exception as error:  # psycopg.ProgrammingError; its text never holds the password
        raise SettingsError(f"DATABASE_URL: not a valid PostgreSQL URL ({error})") from None
    return raw


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name}: missing (see .env.example)")
    return value


def _integer(env: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}: must be between {low} and {high}, got {value}")
    return value


def _boolean(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name}: must be true or false, got {raw!r}")


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name}: must be an http(s) URL, got {raw!r}")
    return raw


def _public_url(env: Mapping[str, str], api_url: str, port: int) -> str:
    """Where people reach the service: the host of every check run's Details link. Guessing it
    is only safe when GitHub is on this machine too (the demo, the tests); against any other
    GitHub a guess of 127.0.0.1 would send everyone who clicks Details to their own machine."""
    if env.get("PUBLIC_URL", "").strip() or _on_loopback(api_url):
        return _url(env, "PUBLIC_URL", f"http://127.0.0.1:{port}").rstrip("/")
    raise SettingsError(
        "PUBLIC_URL: missing; set it to the address people and GitHub reach this service at "
        "(e.g. https://ci.example.com): it is the host of every check run's Details link"
    )


def _on_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _private_key(env: Mapping[str, str]) -> str:
    # Imported here so that `load_settings` stays cheap for the common error paths.
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    inline = env.get("GITHUB_PRIVATE_KEY", "").strip()
    path = env.get("GITHUB_PRIVATE_KEY_PATH", "").strip()
    if inline and path:
        raise SettingsError("GITHUB_PRIVATE_KEY: set it or GITHUB_PRIVATE_KEY_PATH, not both")
    if inline:
        # Platforms that cannot hold multi-line values get the PEM with literal "\n".
        pem, name = inline.replace("\\n", "\n"), "GITHUB_PRIVATE_KEY"
    elif path:
        name = "GITHUB_PRIVATE_KEY_PATH"
        try:
            pem = Path(path).read_text()
        except OSError as error:
            raise SettingsError(f"{name}: cannot read {path}: {error.strerror}") from None
    else:
        raise SettingsError("GITHUB_PRIVATE_KEY: missing (or set GITHUB_PRIVATE_KEY_PATH)")
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise SettingsError(f"{name}: not a PEM private key") from None
    if not isinstance(key, RSAPrivateKey):
        raise SettingsError(f"{name}: GitHub App keys are RSA keys; this one is not")
    return pem
