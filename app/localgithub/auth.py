"""Who is calling: app JWTs, installation tokens, and git's HTTP Basic credentials.

The JWT rules are GitHub's (RS256 only, signed with the app's key, `iss` naming the app, a
lifetime of at most ten minutes), with GitHub's 401 messages so a client bug shows up with
the same words a real deployment would log.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import string
from dataclasses import dataclass
from typing import Any

import jwt

from app.localgithub.errors import ApiError, bad_credentials, requires_authentication
from app.localgithub.records import AppRecord, InstallationRecord, TokenRecord
from app.localgithub.state import World

# Clocks drift; GitHub tolerates about a minute either way.
CLOCK_SKEW = 60
MAX_JWT_LIFETIME = 600

_TOKEN_ALPHABET = string.ascii_letters + string.digits

MSG_UNDECODABLE = "A JSON web token could not be decoded"
MSG_BAD_IAT = "'Issued at' claim ('iat') must be an Integer representing a time in the past"
MSG_BAD_EXP = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time "
    "at which the assertion expires"
)
MSG_EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"
MSG_NO_ISS = "Missing 'issuer' claim ('iss') in assertion"
MSG_ISS_NOT_INT = "'Issuer' claim ('iss') must be an Integer"
MSG_NO_APP = "Integration not found"


@dataclass(frozen=True)
class Principal:
    kind: str  # "jwt" or "token"
    app: AppRecord
    installation: InstallationRecord | None = None
    token: TokenRecord | None = None


def new_token() -> str:
    return "ghs_" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(36))


def _looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2


def _app_for_issuer(world: World, issuer: Any) -> AppRecord:
    if isinstance(issuer, bool) or issuer is None:
        raise ApiError(401, MSG_ISS_NOT_INT)
    if isinstance(issuer, int):
        app = world.apps.get(issuer)
        if app is None:
            raise ApiError(401, MSG_NO_APP)
        return app
    if isinstance(issuer, str):
        # Current GitHub accepts the app's client ID as well as its numeric id.
        for app in world.apps.values():
            if app.app.client_id == issuer:
                return app
        if issuer.isdigit():
            found = world.apps.get(int(issuer))
            if found is None:
                raise ApiError(401, MSG_NO_APP)
            return found
    raise ApiError(401, MSG_ISS_NOT_INT)


def _number(value: Any, *, integral: bool) -> float | None:
    """`value` as a number if it is one (JSON booleans are not), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if integral and isinstance(value, float) and not value.is_integer():
        return None
    return float(value)


def verify_app_jwt(world: World, token: str, now: float) -> AppRecord:
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise ApiError(401, MSG_UNDECODABLE) from exc
    if "iss" not in unverified:
        raise ApiError(401, MSG_NO_ISS)
    app = _app_for_issuer(world, unverified["iss"])
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            app.public_key,
            algorithms=["RS256"],
            # Claim checks are done below with GitHub's rules and messages, not PyJWT's.
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
                "verify_iss": False,
                "verify_sub": False,
                "verify_jti": False,
                "require": [],
            },
        )
    except jwt.InvalidTokenError as exc:
        raise ApiError(401, MSG_UNDECODABLE) from exc
    iat = _number(claims.get("iat"), integral=True)
    exp = _number(claims.get("exp"), integral=False)
    if iat is None or iat > now + CLOCK_SKEW:
        raise ApiError(401, MSG_BAD_IAT)
    if exp is None or exp <= now:
        raise ApiError(401, MSG_BAD_EXP)
    if exp - iat > MAX_JWT_LIFETIME + CLOCK_SKEW or exp > now + MAX_JWT_LIFETIME + CLOCK_SKEW:
        raise ApiError(401, MSG_EXP_TOO_FAR)
    return app


def token_principal(world: World, credential: str, now: float) -> Principal:
    record = world.tokens.get(credential)
    if record is None or record.expires_at <= now:
        raise bad_credentials()
    installation = world.installations.get(record.installation_id)
    if installation is None or installation.deleted:
        raise bad_credentials()
    return Principal(
        kind="token",
        app=world.apps[record.app_id],
        installation=installation,
        token=record,
    )


def authenticate(world: World, authorization: str | None, now: float) -> Principal:
    """The caller behind an API request's Authorization header."""
    if not authorization or not authorization.strip():
        raise requires_authentication()
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    scheme = scheme.lower()
    if not credential:
        raise bad_credentials()
    if scheme == "bearer" and _looks_like_jwt(credential):
        return Principal(kind="jwt", app=verify_app_jwt(world, credential, now))
    if scheme in ("bearer", "token"):
        return token_principal(world, credential, now)
    raise bad_credentials()


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(username, password) from an HTTP Basic header, or None."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep:
        return None
    return username, password


def can_reach(principal: Principal, repo_id: int) -> bool:
    """Whether an installation token may see a repository at all (else GitHub says 404)."""
    installation = principal.installation
    token = principal.token
    if installation is None or token is None:
        return False
    if repo_id not in installation.repo_ids:
        return False
    return token.repo_ids is None or repo_id in token.repo_ids


def has_permission(principal: Principal, name: str, level: str) -> bool:
    token = principal.token
    if token is None:
        return False
    granted = token.permissions.get(name)
    if granted is None:
        return False
    return level == "read" or granted in ("write", "admin")
