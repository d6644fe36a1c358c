"""app/settings.py: every setting read from a plain mapping, every refusal names the setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.settings import DEFAULT_API_URL, Settings, SettingsError, load_settings
from tests.keys import key_pair

# GitHub hands out PKCS#1 ("BEGIN RSA PRIVATE KEY") PEM files.
RSA_PEM, _ = key_pair()
EC_PEM = (
    ec.generate_private_key(ec.SECP256R1())
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    .decode()
)


ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - the documented default of HOST


def env(**overrides: str) -> dict[str, str]:
    base = {
        "GITHUB_APP_ID": "12345",
        "GITHUB_PRIVATE_KEY": RSA_PEM,
        "GITHUB_WEBHOOK_SECRET": "s3cret-hook",
        "PUBLIC_URL": "https://ci.example.com",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v != "<unset>"}


def refusal(values: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(values)
    return str(caught.value)


def test_the_four_required_settings_are_enough_and_the_rest_has_defaults() -> None:
    settings = load_settings(env())
    assert settings.app_id == "12345"
    assert settings.private_key == RSA_PEM.strip()  # surrounding whitespace is dropped
    assert settings.webhook_secret == "s3cret-hook"
    assert settings.api_url == DEFAULT_API_URL == "https://api.github.com"
    assert settings.port == 8000
    assert settings.host == ALL_INTERFACES
    assert settings.data_dir == Path("data").resolve()
    assert settings.data_dir.is_absolute()
    assert settings.public_url == "https://ci.example.com"
    assert settings.workers == 2
    assert settings.job_timeout == 3600.0
    assert settings.metrics_port is None
    assert settings.sweep_interval == 10.0
    assert settings.allowed_owners is None  # any account's installations are served


def test_every_setting_can_be_given() -> None:
    settings = load_settings(
        env(
            GITHUB_API_URL="https://ghe.example.com/api/v3/",
            PORT="9100",
            HOST="127.0.0.2",
            DATA_DIR="/srv/conveyor",
            PUBLIC_URL="https://ci.example.com/",
            WORKERS="8",
            JOB_TIMEOUT="900",
            METRICS_PORT="9200",
            SWEEP_INTERVAL="2",
        )
    )
    assert settings.api_url == "https://ghe.example.com/api/v3"  # trailing slash dropped
    assert settings.port == 9100
    assert settings.host == "127.0.0.2"
    assert settings.data_dir == Path("/srv/conveyor")
    assert settings.public_url == "https://ci.example.com"
    assert settings.workers == 8
    assert settings.job_timeout == 900.0
    assert settings.metrics_port == 9200
    assert settings.sweep_interval == 2.0


def test_surrounding_whitespace_is_ignored_and_blank_means_default() -> None:
    settings = load_settings(
        env(GITHUB_APP_ID="  777 \n", PORT=" ", HOST="  ", WORKERS="", DATA_DIR="  ")
    )
    assert settings.app_id == "777"
    assert settings.port == 8000
    assert settings.host == ALL_INTERFACES
    assert settings.workers == 2
    assert settings.data_dir == Path("data").resolve()


@pytest.mark.parametrize(
    "api_url", ["http://127.0.0.1:9000", "http://localhost:9000/api/v3", "http://[::1]:9000"]
)
def test_public_url_defaults_to_the_chosen_port_when_github_is_on_this_machine(
    api_url: str,
) -> None:
    settings = load_settings(env(PORT="8123", GITHUB_API_URL=api_url, PUBLIC_URL="<unset>"))
    assert settings.public_url == "http://127.0.0.1:8123"


@pytest.mark.parametrize(
    "api_url", ["<unset>", "https://ghe.example.com/api/v3", "http://10.0.0.7", "http://127.evil"]
)
def test_public_url_is_required_when_github_is_elsewhere(api_url: str) -> None:
    # Else every Details link on github.com would point at the clicker's own machine.
    message = refusal(env(GITHUB_API_URL=api_url, PUBLIC_URL="<unset>"))
    assert message.startswith("PUBLIC_URL: missing; set it to the address people and GitHub ")
    assert "Details link" in message
    assert refusal(env(GITHUB_API_URL=api_url, PUBLIC_URL="  ")) == message


def test_port_zero_and_the_bounds_are_accepted() -> None:
    assert load_settings(env(PORT="0")).port == 0
    assert load_settings(env(PORT="65535")).port == 65535
    assert load_settings(env(WORKERS="1")).workers == 1
    assert load_settings(env(WORKERS="256")).workers == 256


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("GITHUB_APP_ID", "GITHUB_APP_ID: missing (see .env.example)"),
        ("GITHUB_WEBHOOK_SECRET", "GITHUB_WEBHOOK_SECRET: missing (see .env.example)"),
        ("GITHUB_PRIVATE_KEY", "GITHUB_PRIVATE_KEY: missing (or set GITHUB_PRIVATE_KEY_PATH)"),
    ],
)
def test_a_missing_required_setting_is_named(name: str, message: str) -> None:
    assert refusal(env(**{name: "<unset>"})) == message
    assert refusal(env(**{name: "   "})) == message


def test_the_app_id_must_be_numeric() -> None:
    assert refusal(env(GITHUB_APP_ID="abc")) == (
        "GITHUB_APP_ID: must be the app's numeric id, got 'abc'"
    )
    assert "GITHUB_APP_ID" in refusal(env(GITHUB_APP_ID="Iv1.8a61f9b3a7aba766"))
    assert "GITHUB_APP_ID" in refusal(env(GITHUB_APP_ID="-5"))


def test_the_app_id_must_be_ascii_digits() -> None:
    assert "GITHUB_APP_ID" in refusal(env(GITHUB_APP_ID="²"))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "http", "PORT: must be a whole number, got 'http'"),
        ("PORT", "80.5", "PORT: must be a whole number, got '80.5'"),
        ("PORT", "70000", "PORT: must be between 0 and 65535, got 70000"),
        ("PORT", "-1", "PORT: must be between 0 and 65535, got -1"),
        ("WORKERS", "0", "WORKERS: must be between 1 and 256, got 0"),
        ("WORKERS", "257", "WORKERS: must be between 1 and 256, got 257"),
        ("JOB_TIMEOUT", "1.5", "JOB_TIMEOUT: must be a whole number, got '1.5'"),
        ("JOB_TIMEOUT", "0", "JOB_TIMEOUT: must be between 1 and 86400, got 0"),
        ("JOB_TIMEOUT", "86401", "JOB_TIMEOUT: must be between 1 and 86400, got 86401"),
        ("METRICS_PORT", "0", "METRICS_PORT: must be between 1 and 65535, got 0"),
        ("METRICS_PORT", "x", "METRICS_PORT: must be a whole number, got 'x'"),
        ("SWEEP_INTERVAL", "0", "SWEEP_INTERVAL: must be between 1 and 3600, got 0"),
    ],
)
def test_malformed_numbers_are_refused_with_the_setting_named(
    name: str, value: str, message: str
) -> None:
    assert refusal(env(**{name: value})) == message


@pytest.mark.parametrize("name", ["GITHUB_API_URL", "PUBLIC_URL"])
@pytest.mark.parametrize("value", ["api.github.com", "ftp://example.com", "https://", "http:/x"])
def test_urls_must_be_http_with_a_host(name: str, value: str) -> None:
    assert refusal(env(**{name: value})) == f"{name}: must be an http(s) URL, got {value!r}"


def test_allowed_owners_are_logins_trimmed_and_lowercased() -> None:
    settings = load_settings(env(ALLOWED_OWNERS=" Octo-Org , mona,octo-org, Enterprise_user_ab1 "))
    assert settings.allowed_owners == frozenset({"octo-org", "mona", "enterprise_user_ab1"})
    assert load_settings(env(ALLOWED_OWNERS="octo-org,")).allowed_owners == frozenset({"octo-org"})
    assert load_settings(env(ALLOWED_OWNERS="  ")).allowed_owners is None
    longest = load_settings(env(ALLOWED_OWNERS="A" + "1" * 38)).allowed_owners
    assert longest == frozenset({"a" + "1" * 38})


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("octo-org/sample", "octo-org/sample"),  # a repository, not an account
        ("octo org", "octo org"),
        ("octo-org;mona", "octo-org;mona"),
        ("@octo-org", "@octo-org"),
        ("mona, -mona", "-mona"),
        ("mona,https://github.com/mona", "https://github.com/mona"),
        ("ünïcode", "ünïcode"),
    ],
)
def test_allowed_owners_must_be_account_logins(value: str, shown: str) -> None:
    assert refusal(env(ALLOWED_OWNERS=value)) == (
        f"ALLOWED_OWNERS: {shown!r} is not a GitHub account login (letters, digits and hyphens;"
        " name the accounts, users or organisations, that may install the app)"
    )


def test_allowed_owners_that_name_no_account_are_refused() -> None:
    assert refusal(env(ALLOWED_OWNERS=" , ,")) == (
        "ALLOWED_OWNERS: names no account; set it to logins, e.g. ALLOWED_OWNERS=octo-org"
    )


def test_an_inline_key_with_literal_backslash_n_is_turned_into_lines() -> None:
    one_line = RSA_PEM.strip().replace("\n", "\\n")
    assert "\n" not in one_line
    settings = load_settings(env(GITHUB_PRIVATE_KEY=one_line))
    assert settings.private_key == RSA_PEM.strip()
    assert settings.private_key.startswith("-----BEGIN RSA PRIVATE KEY-----\n")


def test_the_key_can_be_read_from_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "app.pem"
    key_file.write_text(RSA_PEM)
    settings = load_settings(
        env(GITHUB_PRIVATE_KEY="<unset>", GITHUB_PRIVATE_KEY_PATH=str(key_file))
    )
    assert settings.private_key == RSA_PEM


def test_an_unreadable_key_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    message = refusal(env(GITHUB_PRIVATE_KEY="<unset>", GITHUB_PRIVATE_KEY_PATH=str(missing)))
    assert message == f"GITHUB_PRIVATE_KEY_PATH: cannot read {missing}: No such file or directory"


def test_key_inline_and_path_together_are_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "app.pem"
    key_file.write_text(RSA_PEM)
    assert refusal(env(GITHUB_PRIVATE_KEY_PATH=str(key_file))) == (
        "GITHUB_PRIVATE_KEY: set it or GITHUB_PRIVATE_KEY_PATH, not both"
    )


def test_a_key_that_is_not_pem_is_refused(tmp_path: Path) -> None:
    assert refusal(env(GITHUB_PRIVATE_KEY="not a key")) == (
        "GITHUB_PRIVATE_KEY: not a PEM private key"
    )
    key_file = tmp_path / "app.pem"
    key_file.write_text("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")
    assert refusal(env(GITHUB_PRIVATE_KEY="<unset>", GITHUB_PRIVATE_KEY_PATH=str(key_file))) == (
        "GITHUB_PRIVATE_KEY_PATH: not a PEM private key"
    )


def test_a_key_that_is_not_rsa_is_refused() -> None:
    assert refusal(env(GITHUB_PRIVATE_KEY=EC_PEM)) == (
        "GITHUB_PRIVATE_KEY: GitHub App keys are RSA keys; this one is not"
    )


def test_refusals_do_not_echo_the_key() -> None:
    broken = RSA_PEM.replace("M", "!")
    message = refusal(env(GITHUB_PRIVATE_KEY=broken))
    assert message == "GITHUB_PRIVATE_KEY: not a PEM private key"
    assert "!" not in message


def test_repr_hides_the_key_and_the_secret() -> None:
    settings = load_settings(env(GITHUB_WEBHOOK_SECRET="hunter2-webhook"))
    for shown in (repr(settings), str(settings), f"{settings}"):
        assert "hunter2-webhook" not in shown
        assert "PRIVATE KEY" not in shown
        assert RSA_PEM.splitlines()[1] not in shown
        assert "private_key=<hidden>" in shown
        assert "webhook_secret=<hidden>" in shown
        assert "app_id='12345'" in shown


def test_settings_are_frozen() -> None:
    settings = load_settings(env())
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
    assert isinstance(settings, Settings)


def test_the_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env(GITHUB_APP_ID="4242", WORKERS="3").items():
        monkeypatch.setenv(name, value)
    for name in ("GITHUB_PRIVATE_KEY_PATH", "PORT", "GITHUB_API_URL", "JOB_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.app_id == "4242"
    assert settings.workers == 3


def test_the_log_limit_is_in_kb_with_a_floor_and_logs_are_kept_90_days() -> None:
    assert load_settings(env()).log_limit_kb == 16 * 1024
    assert load_settings(env(LOG_LIMIT_KB="64")).log_limit_kb == 64
    assert refusal(env(LOG_LIMIT_KB="10")) == (
        "LOG_LIMIT_KB: must be between 64 and 1048576, got 10"
    )
    assert load_settings(env()).log_retention_days == 90
    assert load_settings(env(LOG_RETENTION_DAYS="7")).log_retention_days == 7
