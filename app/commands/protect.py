"""`python -m app protect OWNER/REPO [--branch BRANCH]`: make a branch require Conveyor's checks.

A failing check only blocks a merge if branch protection or a ruleset requires it. This command
sets that requirement through GitHub's API when the app may (it needs "Administration: Read and
write"), keeping the rest of the branch's protection. When the app may not, it says exactly what
is missing and prints the two ways out: grant the permission, or have a repository admin add
the requirement by hand (steps for branch protection and for a ruleset, and the `gh api` /
`curl` command an admin can run with their own token).

Exit codes: 0 the branch requires the checks; 1 GitHub refused or something is not there (the
message names it); 2 a setting is missing or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import aiohttp
from gidgethub import BadRequest, GitHubBroken

from app.github.client import GitHubClient, RetryPolicy
from app.github.protection import (
    ADMINISTRATION,
    App,
    BranchNotFound,
    Installation,
    NotInstalled,
    NotPermitted,
    Outcome,
    ProtectionError,
    Repository,
    RequiredCheck,
    check_branch,
    find_installation,
    get_app,
    get_repository,
    require_checks,
    ruleset_requiring,
)
from app.settings import Settings, SettingsError, load_settings
from app.state.database import DatabaseError, open_read_only
from app.state.jobs import DEFAULT_CHECKS, JobQueue

PROG = "conveyor protect"


# A command run by hand should not sit through a minute of secondary-limit backoff.
POLICY = RetryPolicy(attempts=3, base_delay=0.5, max_delay=10.0)

_TARGET = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)/([A-Za-z0-9_.-]+)$")


def main(args: argparse.Namespace) -> int:
    return run_protect_command(args.repository, args.branch)


def run_protect_command(target: str, branch: str | None) -> int:
    return asyncio.run(protect(target, branch))


async def protect(
    target: str,
    branch: str | None,
    *,
    env: dict[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    match = _TARGET.match(target.strip().removesuffix(".git"))
    if match is None:
        print(f"{PROG}: expected OWNER/REPO, got {target!r}", file=err)
        return 2
    owner, repo = match.groups()
    try:
        settings = load_settings(env)
    except SettingsError as error:
        print(f"{PROG}: {error}", file=err)
        return 2
    try:
        async with aiohttp.ClientSession() as session:
            client = GitHubClient(
                session,
                api_url=settings.api_url,
                app_id=settings.app_id,
                private_key=settings.private_key,
                policy=POLICY,
            )
            return await _protect(client, settings, owner, repo, branch, out, err)
    except (aiohttp.ClientError, TimeoutError) as error:
        print(f"{PROG}: cannot reach GitHub at {settings.api_url}: {error}", file=err)
        return 1
    except GitHubBroken as error:
        print(f"{PROG}: GitHub failed ({int(error.status_code)}); try again later", file=err)
        return 1
    except BadRequest as error:
        message = error.args[0] if error.args else ""
        print(f"{PROG}: GitHub answered {int(error.status_code)}: {message}", file=err)
        return 1


async def _protect(
    client: GitHubClient,
    settings: Settings,
    owner: str,
    repo: str,
    branch: str | None,
    out: TextIO,
    err: TextIO,
) -> int:
    try:
        app = await get_app(client)
    except BadRequest as error:
        if int(error.status_code) != 401:
            raise
        message = error.args[0] if error.args else ""
        print(
            f"{PROG}: GitHub refused the app's credentials (401 {message}); check "
            "GITHUB_APP_ID and the private key",
            file=err,
        )
        return 1
    except ProtectionError as error:
        print(f"{PROG}: {error}", file=err)
        return 1
    web = web_url(settings.api_url)
    try:
        installation = await find_installation(client, owner, repo)
        repository = await get_repository(client, installation, owner, repo)
    except NotInstalled as missing:
        print(not_installed_message(app, missing, web), file=err)
        return 1
    branch = branch or repository.default_branch
    try:
        await check_branch(client, installation, repository, branch)
    except BranchNotFound:
        print(f"{PROG}: {repository.full_name} has no branch {branch!r}", file=err)
        return 1
    names = expected_checks(settings.data_dir, repository.id, settings.database_url)
    ours = [RequiredCheck(name, app.id) for name in names]
    via = await ruleset_requiring(client, installation, repository, branch, ours)
    if via is not None:
        print(
            f"{branch} of {repository.full_name} already requires: {_listed(ours, app)} "
            f'through the ruleset "{via}"; nothing changed',
            file=out,
        )
        return 0
    try:
        outcome = await require_checks(client, installation, repository, branch, ours)
    except BranchNotFound:
        print(f"{PROG}: {repository.full_name} has no branch {branch!r}", file=err)
        return 1
    except NotPermitted as refused:
        print(
            not_permitted_message(
                app, installation, repository, branch, ours, refused, web, settings.api_url
            ),
            file=err,
        )
        return 1
    print(success_message(app, repository, outcome), file=out)
    return 0


def expected_checks(
    data_dir: Path, repo_id: int, database_url: str | None = None
) -> tuple[str, ...]:
    """The check names the service reports for the repository (its latest plan, kept in
    `repo_checks`), or the default ones when there is no database or no plan yet. Read only:
    this command must neither create the service's database nor write to it."""
    try:
        db = open_read_only(database_url, data_dir)
    except DatabaseError:
        return DEFAULT_CHECKS  # no database yet, or not reachable
    try:
        return JobQueue(db).expected_checks(repo_id)
    except db.errors:
        return DEFAULT_CHECKS  # an older database without the table, or not one at all
    finally:
        db.close()


# -- messages -------------------------------------------------------------------------------


def _names(checks: Sequence[RequiredCheck]) -> str:
    return ", ".join(check.context for check in checks)


def _listed(ours: Sequence[RequiredCheck], app: App) -> str:
    return f"{_names(ours)} (from {app.name}, app {app.id})"


def _source(check: RequiredCheck) -> str:
    return "any source" if check.app_id is None else f"app {check.app_id}"


def success_message(app: App, repository: Repository, outcome: Outcome) -> str:
    where = f"{outcome.branch} of {repository.full_name}"
    if outcome.action == "unchanged":
        lines = [f"{where} already requires: {_listed(outcome.ours, app)}; nothing changed"]
    else:
        lines = [f"{where} now requires: {_listed(outcome.ours, app)}"]
    others = [check for check in outcome.required if check not in outcome.ours]
    if others:
        kept = ", ".join(f"{check.context} ({_source(check)})" for check in others)
        lines.append(f"Also still required, as before: {kept}.")
    if outcome.action == "created":
        lines.append(
            f"{outcome.branch} had no branch protection; it now has one with only this rule. "
            "Repository admins can still merge past it unless "
            '"Do not allow bypassing the above settings" is ticked (Settings → Branches).'
        )
    elif outcome.action == "updated" and not others:
        lines.append("The rest of the branch protection is unchanged.")
    return "\n".join(lines)


def web_url(api_url: str) -> str:
    """github.com for api.github.com; https://HOST for GitHub Enterprise's https://HOST/api/v3;
    anything else (the local GitHub) serves its pages at the API's own address."""
    parts = urlsplit(api_url)
    if parts.netloc == "api.github.com":
        return "https://github.com"
    if parts.path.rstrip("/").endswith("/api/v3"):
        return f"{parts.scheme}://{parts.netloc}"
    return api_url.rstrip("/")


def _settings_base(web: str, login: str, kind: str) -> str:
    return f"{web}/organizations/{login}/settings" if kind == "Organization" else f"{web}/settings"


def _install_url(app: App, web: str) -> str:
    """Where the app is installed; GitHub may leave out the slug that names it."""
    if app.slug is not None:
        return f"{web}/apps/{app.slug}/installations/new"
    if app.html_url:
        return f"{app.html_url.rstrip('/')}/installations/new"
    return f"{web}/settings/apps (the app's page → Install App)"


def not_installed_message(app: App, missing: NotInstalled, web: str) -> str:
    full = f"{missing.owner}/{missing.repo}"
    if missing.installed_on_account:
        return (
            f"{PROG}: {full}: no such repository, or {app.name}'s installation on "
            f"{missing.owner} does not include it. If it exists, add it to the installation's "
            f"repository access (Settings → GitHub Apps → {app.name} → Configure → "
            "Repository access)."
        )
    return (
        f"{PROG}: {app.name} (app {app.id}) is not installed on {full}: it has no installation "
        f"on the account {missing.owner}. Install it there first: " + _install_url(app, web)
    )


def _level(permissions: Mapping[str, str], name: str) -> str:
    """A permission level in the words of the app settings page."""
    level = permissions.get(name)
    if level in ("write", "admin"):
        return "Read and write"
    if level == "read":
        return "Read-only"
    return "No access"


def ruleset_body(branch: str, ours: Sequence[RequiredCheck], app: App) -> dict[str, object]:
    return {
        "name": f"{app.name} required checks",
        "target": "branch",
        "enforcement": "active",
        "conditions": {"ref_name": {"include": [f"refs/heads/{branch}"], "exclude": []}},
        "rules": [
            {
                "type": "required_status_checks",
                "parameters": {
                    "strict_required_status_checks_policy": False,
                    "required_status_checks": [
                        {"context": check.context, "integration_id": app.id} for check in ours
                    ],
                },
            }
        ],
    }


def not_permitted_message(
    app: App,
    installation: Installation,
    repository: Repository,
    branch: str,
    ours: Sequence[RequiredCheck],
    refused: NotPermitted,
    web: str,
    api_url: str,
) -> str:
    full = repository.full_name
    app_level = _level(app.permissions, ADMINISTRATION)
    installed_level = _level(installation.permissions, ADMINISTRATION)
    quoted = ", ".join(f'"{check.context}"' for check in ours)
    lines = [
        f"{PROG}: {app.name} may not change the branch protection of {branch} in {full}.",
        f'GitHub answered {refused.method} {refused.path} with 403 "{refused.message}".',
    ]
    permission_missing = installed_level != "Read and write"
    if permission_missing:
        lines.append(
            'Missing: the repository permission "Administration: Read and write". '
            f'The app has "Administration: {app_level}"; its installation on '
            f'{installation.account} has "{installed_level}".'
        )
    else:
        lines.append(
            'The installation has "Administration: Read and write", so GitHub refused for '
            "another reason (its message above says which; private repositories need a paid "
            "plan for branch protection and rulesets)."
        )
    lines += ["", "Two ways out:", ""]
    app_settings = f"{_settings_base(web, app.owner, app.owner_type)}/apps"
    if app.slug is not None:
        app_settings += f"/{app.slug}/permissions"  # else the list of apps, to pick it from
    accept = (
        f"{_settings_base(web, installation.account, installation.account_type)}"
        f"/installations/{installation.id}"
    )
    step = 1
    if permission_missing:
        lines.append(f"{step}. Let {app.name} do it, then run this command again:")
        if app_level != "Read and write":
            lines += [
                f"   a. The app's owner ({app.owner}) grants it: App settings → Permissions & "
                "events → Repository permissions → Administration → Read and write → Save "
                "changes.",
                f"      {app_settings}",
                f"   b. The owner of {installation.account} accepts the new permission on the "
                "installation (GitHub asks them by email, or: Review request → Accept new "
                "permissions).",
                f"      {accept}",
            ]
        else:
            lines += [
                "   The app already asks for it; the owner of "
                f"{installation.account} has not accepted it on the installation yet: "
                "Review request → Accept new permissions.",
                f"      {accept}",
            ]
        lines += [
            "   (Administration write lets the app change every setting of the repositories "
            "it is installed on; the second way needs no new permission.)",
            "",
        ]
        step += 1
    body = ruleset_body(branch, ours, app)
    lines += [
        f"{step}. A repository admin adds the requirement by hand ({app.name} needs nothing more):",
        f"   Branch protection: Settings → Branches → Add branch protection rule (or Edit the "
        f'rule that covers {branch}) → Branch name pattern: {branch} → tick "Require status '
        f'checks to pass before merging" → search for {quoted} and pick it with the source '
        f'"{app.name}" → Save changes.',
        f"      {web}/{full}/settings/branches",
        "   Or a ruleset: Settings → Rules → Rulesets → New ruleset → New branch ruleset → "
        f'Ruleset name: "{body["name"]}" → Enforcement status: Active → Target branches → Add '
        f'target → Include by pattern: {branch} → tick "Require status checks to pass" → Add '
        f'checks → {quoted} with the source "{app.name}" → Create.',
        f"      {web}/{full}/settings/rules",
        "   The same ruleset with the admin's own token (it adds a rule and changes nothing else):",
        *_gh_command(api_url, full, body),
        "   or",
        *_curl_command(api_url, full, body),
    ]
    return "\n".join(lines)


def _gh_command(api_url: str, full: str, body: dict[str, object]) -> list[str]:
    host = urlsplit(web_url(api_url)).netloc
    hostname = "" if host == "github.com" else f" --hostname {shlex.quote(host)}"
    text = json.dumps(body, indent=2).splitlines()
    return [
        f"gh api{hostname} --method POST repos/{full}/rulesets --input - <<'EOF'",
        *text,
        "EOF",
    ]


def _curl_command(api_url: str, full: str, body: dict[str, object]) -> list[str]:
    url = f"{api_url.rstrip('/')}/repos/{full}/rulesets"
    return [
        'curl -X POST -H "Authorization: Bearer $GITHUB_TOKEN" '
        '-H "Accept: application/vnd.github+json" \\',
        f"  {shlex.quote(url)} \\",
        f"  -d {shlex.quote(json.dumps(body))}",
    ]
