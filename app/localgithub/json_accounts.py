"""People, organizations, GitHub Apps and installations as GitHub's JSON shows them (in
webhook bodies and REST answers)."""

from __future__ import annotations

from typing import Any

from app.localgithub.json_base import JsonBase, JsonObject, node_id
from app.localgithub.records import Account, AppRecord, InstallationRecord
from app.localgithub.timeutil import iso


class AccountJson(JsonBase):
    """People, organizations, apps and installations."""

    def user(self, account: Account) -> JsonObject:
        api = f"{self.base}/users/{account.login}"
        return {
            "login": account.login,
            "id": account.id,
            "node_id": node_id(account.type, account.id),
            "avatar_url": f"{self.base}/avatars/u/{account.id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.base}/{account.login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": account.type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def organization(self, account: Account) -> JsonObject:
        api = f"{self.base}/orgs/{account.login}"
        return {
            "login": account.login,
            "id": account.id,
            "node_id": node_id("Organization", account.id),
            "url": api,
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events",
            "hooks_url": f"{api}/hooks",
            "issues_url": f"{api}/issues",
            "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": f"{self.base}/avatars/u/{account.id}?v=4",
            "description": None,
        }

    def app(self, record: AppRecord) -> JsonObject:
        app = record.app
        return {
            "id": app.id,
            "slug": app.slug,
            "node_id": node_id("App", app.id),
            "client_id": app.client_id,
            "owner": self.user(self.world.account(app.owner)),
            "name": app.name,
            "description": "",
            "external_url": app.external_url,
            "html_url": f"{self.base}/apps/{app.slug}",
            "created_at": iso(record.created_at),
            "updated_at": iso(record.created_at),
            "permissions": dict(record.permissions),
            "events": list(record.events),
        }

    def installation_ref(self, installation: InstallationRecord) -> JsonObject:
        return {
            "id": installation.id,
            "node_id": node_id("IntegrationInstallation", installation.id),
        }

    def installation(
        self, installation: InstallationRecord, *, template_obj: JsonObject | None = None
    ) -> JsonObject:
        record = self.world.apps[installation.app_id]
        stamp: Any = iso(installation.created_at)
        if template_obj is not None and isinstance(template_obj.get("created_at"), int):
            stamp = int(installation.created_at.timestamp())
        return {
            "id": installation.id,
            "client_id": record.app.client_id,
            "account": self.user(installation.account),
            "repository_selection": "selected",
            "access_tokens_url": f"{self.base}/app/installations/{installation.id}/access_tokens",
            "repositories_url": f"{self.base}/installation/repositories",
            "html_url": f"{self.base}/settings/installations/{installation.id}",
            "app_id": record.app.id,
            "app_slug": record.app.slug,
            "target_id": installation.account.id,
            "target_type": installation.account.type,
            "permissions": dict(installation.permissions),
            "events": list(record.events),
            "created_at": stamp,
            "updated_at": stamp,
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "suspended_by": None,
            "suspended_at": None,
        }
