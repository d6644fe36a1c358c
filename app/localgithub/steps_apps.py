"""Scenario steps around GitHub Apps: registering one (its key pair, permissions and events),
changing its permissions and webhook URL, installing and uninstalling it."""

from __future__ import annotations

import dataclasses
import re
import secrets
import string
from collections.abc import Mapping, Sequence

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.localgithub.models import GitHubApp, Repository
from app.localgithub.records import AppRecord, InstallationRecord
from app.localgithub.steps_common import DEFAULT_ACTOR, Steps, as_pending, settle
from app.localgithub.timeutil import now

# What Conveyor asks for. Issues read is what the issue_comment event needs (`/conveyor run`);
# Pull requests write lets it answer a refused command on a pull request (a reaction), without
# reaching plain issues.
DEFAULT_PERMISSIONS: Mapping[str, str] = {
    "checks": "write",
    "contents": "read",
    "issues": "read",
    "metadata": "read",
    "pull_requests": "write",
}
DEFAULT_EVENTS: Sequence[str] = (
    "check_run",
    "check_suite",
    "issue_comment",
    "pull_request",
    "push",
)

_ALNUM = string.ascii_letters + string.digits


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "app"


class AppSteps(Steps):
    """What a GitHub App's owner and the accounts installing it do."""

    def register_app(
        self,
        name: str,
        webhook_url: str | None = None,
        webhook_secret: str = "",
        *,
        owner: str = DEFAULT_ACTOR,
        permissions: Mapping[str, str] | None = None,
        events: Sequence[str] | None = None,
        homepage_url: str | None = None,
    ) -> GitHubApp:
        slug = _slug(name)
        if any(record.app.slug == slug for record in self._world.apps.values()):
            raise ValueError(f"an app named {slug!r} already exists")
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        # GitHub hands out PKCS#1 ("BEGIN RSA PRIVATE KEY") files.
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode("ascii")
        public_pem = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )
        self._world.account(owner)
        app = GitHubApp(
            id=self._world.next_app_id(),
            slug=slug,
            name=name,
            client_id="Iv23li" + "".join(secrets.choice(_ALNUM) for _ in range(14)),
            private_key_pem=private_pem,
            public_key_pem=public_pem,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            owner=owner,
            external_url=homepage_url or f"https://{slug}.example",
        )
        self._world.apps[app.id] = AppRecord(
            app=app,
            public_key=key.public_key(),
            hook_id=self._world.next_hook_id(),
            permissions=dict(permissions if permissions is not None else DEFAULT_PERMISSIONS),
            events=tuple(events if events is not None else DEFAULT_EVENTS),
            created_at=now(),
        )
        return app

    def set_app_permissions(self, app: GitHubApp, permissions: Mapping[str, str]) -> None:
        """The app's owner changes its permissions in the app settings. Installations keep
        the permissions they had until their owner accepts the new ones
        (`accept_new_permissions`); tokens carry the installation's."""
        self._world.apps[app.id].permissions = dict(permissions)

    def accept_new_permissions(self, installation_id: int) -> None:
        """The installation's owner accepts the app's new permissions. (GitHub also sends
        `installation` new_permissions_accepted; the emulator does not.)"""
        installation = self._world.installations[installation_id]
        installation.permissions = dict(self._world.apps[installation.app_id].permissions)

    def set_webhook_url(self, app: GitHubApp, url: str | None) -> GitHubApp:
        record = self._world.apps[app.id]
        record.app = dataclasses.replace(record.app, webhook_url=url)
        return record.app

    async def install(
        self,
        app: GitHubApp,
        account: str,
        *,
        account_type: str = "Organization",
        repositories: Sequence[Repository] = (),
        sender: str | None = None,
    ) -> int:
        record = self._world.apps[app.id]
        owner = self._world.account(account, kind=account_type)
        installation = InstallationRecord(
            id=self._world.next_installation_id(),
            app_id=record.id,
            account=owner,
            repo_ids={repo.id for repo in repositories},
            permissions=dict(record.permissions),
            created_at=now(),
        )
        for repo in repositories:
            if self._repo(repo).owner is not owner:
                raise ValueError(f"{repo.full_name} does not belong to {account}")
        self._world.installations[installation.id] = installation
        actor = self._person(sender, owner)
        await settle(as_pending(self._hub.events.installation("created", installation, actor)))
        return installation.id

    async def uninstall(self, installation_id: int, *, sender: str | None = None) -> None:
        installation = self._world.installations[installation_id]
        actor = self._person(sender, installation.account)
        pending = as_pending(self._hub.events.installation("deleted", installation, actor))
        # The deletion notice still reaches the app; after it, the tokens stop working.
        installation.deleted = True
        await settle(pending)
