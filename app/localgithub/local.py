"""`LocalGitHub`: the emulator as tests and the demo drive it.

The HTTP side (server.py and the api_* modules) answers the service; this side plays the
people and GitHub itself: registering the app, installing it, creating repositories, pushing,
opening pull requests, clicking the re-run and action buttons. Each such step sends the
webhooks GitHub would send and waits until they have been delivered (or have failed), so a
test can look at the outcome right after the call returns.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import secrets
import string
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.localgithub import (
    gitcmd,
    merge_gate,
    merging,
    protection,
    protection_json,
    pulls,
    pushes,
    rulesets,
)
from app.localgithub.errors import ApiError
from app.localgithub.gitcmd import ZERO_SHA
from app.localgithub.hub import Fault, Hub
from app.localgithub.models import (
    CallRecord,
    CheckRun,
    GitHubApp,
    Issue,
    IssueComment,
    IssuedToken,
    PullRequest,
    Repository,
    WebhookDelivery,
)
from app.localgithub.records import (
    COMPLETED,
    Account,
    AppRecord,
    CommentRecord,
    InstallationRecord,
    IssueRecord,
    PullRecord,
    RepoRecord,
    RunRecord,
)
from app.localgithub.server import build_application
from app.localgithub.state import World
from app.localgithub.timeutil import now
from app.localgithub.webhooks import encode

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

# Who clicks buttons and pushes when an organisation owns the repository and no one is named.
DEFAULT_ACTOR = "octocat"

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_ALNUM = string.ascii_letters + string.digits


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "app"


async def _settle(pending: Sequence[asyncio.Future[WebhookDelivery]]) -> list[WebhookDelivery]:
    return list(await asyncio.gather(*pending)) if pending else []


class LocalGitHub:
    def __init__(
        self,
        data_dir: Path,
        *,
        token_ttl: float = 3600.0,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: int = 5000,
        webhook_timeout: float = 10.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.url: str | None = None
        self._world = World(self.data_dir)
        self._hub = Hub(
            self._world,
            token_ttl=token_ttl,
            rate_limit=rate_limit,
            webhook_timeout=webhook_timeout,
        )
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> str:
        if self._runner is not None:
            raise RuntimeError("already started")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Requests still open at stop() get a moment to finish, not the default minute.
        runner = web.AppRunner(build_application(self._hub), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        address = runner.addresses[0]
        self.url = f"http://{self.host}:{address[1]}"
        self._world.base_url = self.url
        await self._hub.sender.start()
        return self.url

    async def stop(self) -> None:
        await self._hub.sender.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LocalGitHub:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def wait_idle(self) -> None:
        """Wait until every webhook queued so far has been delivered (or has failed)."""
        await self._hub.sender.wait_idle()

    # -- what happened -----------------------------------------------------------------------

    @property
    def calls(self) -> list[CallRecord]:
        return self._hub.calls

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        return self._hub.sender.deliveries

    @property
    def tokens_issued(self) -> list[IssuedToken]:
        return self._hub.tokens_issued

    def refused(self) -> list[CallRecord]:
        """Every call answered with a status >= 400, except git's credential-less first probe
        when the client's next git request to that repository brought credentials: that 401
        is HTTP auth negotiation (git always asks anonymously first), not a refusal; nor is
        the 404 of a user's permission in a repository, which is how GitHub says "no
        collaborator"."""
        calls = self._hub.calls
        refused = []
        for index, call in enumerate(calls):
            if call.status < 400:
                continue
            if call.status == 404 and _PERMISSION_PATH.fullmatch(call.path):
                continue
            if call.kind == "git" and call.status == 401 and call.auth == "none":
                follow_up = next(
                    (
                        later
                        for later in calls[index + 1 :]
                        if later.kind == "git" and _git_repo(later.path) == _git_repo(call.path)
                    ),
                    None,
                )
                if follow_up is not None and follow_up.auth != "none":
                    continue
            refused.append(call)
        return refused

    def check_runs(
        self, repo: Repository | None = None, head_sha: str | None = None
    ) -> list[CheckRun]:
        return [
            self._world.check_run(run)
            for run in sorted(self._world.runs.values(), key=lambda run: run.id)
            if (repo is None or run.repo_id == repo.id)
            and (head_sha is None or run.head_sha == head_sha)
        ]

    def check_run(self, check_run_id: int) -> CheckRun:
        run = self._world.runs.get(check_run_id)
        if run is None:
            raise KeyError(f"no check run {check_run_id}")
        return self._world.check_run(run)

    def pull_request(self, repo: Repository, number: int) -> PullRequest:
        pr = self._world.find_pull(repo.id, number)
        if pr is None:
            raise KeyError(f"no pull request #{number} in {repo.full_name}")
        return self._world.pull_request(pr)

    def app(self, app_id: int) -> GitHubApp:
        return self._world.apps[app_id].app

    # -- faults ----------------------------------------------------------------------------

    def inject_fault(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next `times` requests matching `method` ("*" for any) and `path_regex`
        (searched in the path) with `status`, after `delay` seconds, without running them."""
        self._hub.faults.append(
            Fault(
                method=method,
                path_pattern=re.compile(path_regex),
                status=status,
                remaining=times,
                headers=dict(headers or {}),
                body=body,
                delay=delay,
            )
        )

    # -- apps and installations -----------------------------------------------------------

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
        await _settle(_some(self._hub.events.installation("created", installation, actor)))
        return installation.id

    async def uninstall(self, installation_id: int, *, sender: str | None = None) -> None:
        installation = self._world.installations[installation_id]
        actor = self._person(sender, installation.account)
        pending = _some(self._hub.events.installation("deleted", installation, actor))
        # The deletion notice still reaches the app; after it, the tokens stop working.
        installation.deleted = True
        await _settle(pending)

    # -- repositories ----------------------------------------------------------------------

    def _repo(self, repo: Repository) -> RepoRecord:
        return self._world.repos[repo.id]

    def _person(self, login: str | None, owner: Account) -> Account:
        if login is not None:
            return self._world.account(login)
        if owner.type == "User":
            return owner
        return self._world.account(DEFAULT_ACTOR)

    async def create_repository(
        self,
        owner: str,
        name: str,
        *,
        installation_id: int | None = None,
        default_branch: str = "main",
        owner_type: str = "User",
    ) -> Repository:
        if not _NAME.match(name) or name in (".", ".."):
            raise ValueError(f"invalid repository name {name!r}")
        if self._world.find_repo(owner, name) is not None:
            raise ValueError(f"{owner}/{name} already exists")
        account = self._world.account(owner, kind=owner_type)
        installation = None
        if installation_id is not None:
            installation = self._world.installations.get(installation_id)
            if installation is None or installation.deleted:
                raise ValueError(f"no installation {installation_id}")
            if installation.account is not account:
                on = installation.account.login
                raise ValueError(f"installation {installation_id} is on {on}, not {owner}")
        bare = self.data_dir / "repos" / account.login / f"{name}.git"
        await gitcmd.init_bare(bare, default_branch)
        moment = now()
        record = RepoRecord(
            id=self._world.next_repo_id(),
            owner=account,
            name=name,
            bare_path=bare,
            default_branch=default_branch,
            created_at=moment,
            pushed_at=moment,
            created_installation_id=installation_id,
        )
        self._world.repos[record.id] = record
        if installation is not None:
            installation.repo_ids.add(record.id)
            actor = self._person(None, account)
            await _settle(
                _some(
                    self._hub.events.installation_repositories(
                        "added", installation, [record], actor
                    )
                )
            )
        return self._world.repository(record)

    async def fork(self, repo: Repository, owner: str, *, name: str | None = None) -> Repository:
        parent = self._repo(repo)
        fork_name = name or parent.name
        if self._world.find_repo(owner, fork_name) is not None:
            raise ValueError(f"{owner}/{fork_name} already exists")
        account = self._world.account(owner)
        bare = self.data_dir / "repos" / account.login / f"{fork_name}.git"
        await gitcmd.clone_bare(parent.bare_path, bare)
        moment = now()
        record = RepoRecord(
            id=self._world.next_repo_id(),
            owner=account,
            name=fork_name,
            bare_path=bare,
            default_branch=parent.default_branch,
            created_at=moment,
            pushed_at=moment,
            fork=True,
            parent_id=parent.id,
        )
        self._world.repos[record.id] = record
        return self._world.repository(record)

    # -- pushing ---------------------------------------------------------------------------

    async def push(
        self,
        repo: Repository,
        source_dir: Path,
        branch: str = "main",
        *,
        force: bool = False,
        sender: str | None = None,
    ) -> str:
        """`git push` the work tree's HEAD to `branch`, then do what GitHub does after a push."""
        record = self._repo(repo)
        bare = record.bare_path
        before = await gitcmd.branch_tip(bare, branch) or ZERO_SHA
        known = await gitcmd.ref_tips(bare)
        await gitcmd.push_head(Path(source_dir), bare, branch, force=force)
        after = await gitcmd.branch_tip(bare, branch)
        assert after is not None
        if after == before:
            return after  # "Everything up-to-date": GitHub sends nothing
        actor = self._person(sender, record.owner)
        pending = await pushes.branch_moved(
            self._hub, record, branch, before=before, after=after, known=known, actor=actor
        )
        await _settle(pending)
        return after

    async def delete_branch(
        self, repo: Repository, branch: str, *, sender: str | None = None
    ) -> None:
        """Delete a branch, as the "delete branch" button does: a push event with
        `deleted: true` and an all-zero `after`, and no check suite."""
        record = self._repo(repo)
        before = await gitcmd.branch_tip(record.bare_path, branch)
        if before is None:
            raise ValueError(f"{repo.full_name} has no branch {branch!r}")
        if branch == record.default_branch:
            raise ValueError("GitHub does not let the default branch be deleted")
        await gitcmd.delete_ref(record.bare_path, f"refs/heads/{branch}")
        pending = await self._hub.events.push(
            record,
            self._person(sender, record.owner),
            ref=f"refs/heads/{branch}",
            before=before,
            after=ZERO_SHA,
            created=False,
            forced=False,
            commits=[],
            head=None,
        )
        await _settle(pending)

    # -- pull requests ---------------------------------------------------------------------

    async def open_pull_request(
        self,
        base_repo: Repository,
        head: str,
        base: str = "main",
        *,
        head_repo: Repository | None = None,
        title: str = "Update",
        body: str = "",
        author: str | None = None,
    ) -> PullRequest:
        base_record = self._repo(base_repo)
        head_record = self._repo(head_repo) if head_repo is not None else base_record
        if head_record.id != base_record.id and not self._same_network(head_record, base_record):
            raise ValueError(f"{head_record.full_name} is not a fork of {base_record.full_name}")
        head_sha = await gitcmd.branch_tip(head_record.bare_path, head)
        if head_sha is None:
            raise ValueError(f"{head_record.full_name} has no branch {head!r}")
        base_sha = await gitcmd.branch_tip(base_record.bare_path, base)
        if base_sha is None:
            raise ValueError(f"{base_record.full_name} has no branch {base!r}")
        if head_record.id == base_record.id and head == base:
            raise ValueError("head and base are the same branch")
        if head_record.id == base_record.id and await gitcmd.is_ancestor(
            base_record.bare_path, head_sha, base_sha
        ):
            raise ValueError(f"No commits between {base} and {head}")
        number = base_record.next_number
        base_record.next_number += 1
        moment = now()
        pr = PullRecord(
            id=self._world.next_pull_id(),
            number=number,
            base_repo_id=base_record.id,
            head_repo_id=head_record.id,
            head_ref=head,
            base_ref=base,
            head_sha=head_sha,
            title=title,
            body=body,
            author=self._person(author, head_record.owner),
            state="open",
            created_at=moment,
            updated_at=moment,
            base_sha=base_sha,
            issue_id=self._world.next_issue_id(),
        )
        self._world.pulls[pr.id] = pr
        await pulls.set_head(self._world, pr, head_sha)
        await _settle(await self._hub.events.pull_request("opened", pr, pr.author))
        return self._world.pull_request(pr)

    def _same_network(self, one: RepoRecord, other: RepoRecord) -> bool:
        def root(repo: RepoRecord) -> int:
            while repo.parent_id is not None:
                repo = self._world.repos[repo.parent_id]
            return repo.id

        return root(one) == root(other)

    def _pull(self, pr: PullRequest) -> PullRecord:
        found = self._world.find_pull(pr.base_repo.id, pr.number)
        if found is None:
            raise KeyError(f"no pull request #{pr.number} in {pr.base_repo.full_name}")
        return found

    async def close_pull_request(
        self, pr: PullRequest, *, sender: str | None = None
    ) -> PullRequest:
        record = self._pull(pr)
        if record.state != "open":
            raise ValueError(f"#{record.number} is not open")
        record.state = "closed"
        record.closed_at = record.updated_at = now()
        actor = self._world.account(sender) if sender else record.author
        await _settle(await self._hub.events.pull_request("closed", record, actor))
        return self._world.pull_request(record)

    async def reopen_pull_request(
        self, pr: PullRequest, *, sender: str | None = None
    ) -> PullRequest:
        record = self._pull(pr)
        if record.state != "closed":
            raise ValueError(f"#{record.number} is not closed")
        head = self._world.repos[record.head_repo_id]
        tip = await gitcmd.branch_tip(head.bare_path, record.head_ref)
        if tip is None:
            raise ValueError(f"the head branch {record.head_ref!r} no longer exists")
        record.state = "open"
        record.closed_at = None
        await pulls.set_head(self._world, record, tip)
        actor = self._world.account(sender) if sender else record.author
        await _settle(await self._hub.events.pull_request("reopened", record, actor))
        return self._world.pull_request(record)

    async def merge_pull_request(
        self, pr: PullRequest, *, by: str | None = None, method: str = "merge"
    ) -> bool | str:
        """The merge button: True once merged, else the reason GitHub gives (the message of
        its 405). Branch protection and rulesets are obeyed; nobody bypasses them here."""
        record = self._pull(pr)
        actor = self._world.account(by) if by else self._person(None, record.author)
        try:
            _, pending = await merging.merge(self._hub, record, actor, method=method)
        except merging.MergeRefused as refused:
            return refused.message
        await _settle(pending)
        return True

    def mergeable(self, pr: PullRequest) -> tuple[bool, str]:
        """(True, "") when the merge button would work now, else (False, why)."""
        refusal = merge_gate.merge_refusal(self._world, self._pull(pr))
        return (False, refusal) if refusal is not None else (True, "")

    # -- issues and comments ---------------------------------------------------------------

    async def open_issue(
        self, repo: Repository, title: str, body: str = "", *, author: str | None = None
    ) -> Issue:
        """A plain issue; it takes the next number, shared with pull requests."""
        record = self._repo(repo)
        number = record.next_number
        record.next_number += 1
        moment = now()
        issue = IssueRecord(
            id=self._world.next_issue_id(),
            number=number,
            repo_id=record.id,
            title=title,
            body=body,
            author=self._person(author, record.owner),
            state="open",
            created_at=moment,
            updated_at=moment,
        )
        self._world.issues[issue.id] = issue
        return self._world.issue(issue)

    def _issue_target(self, target: PullRequest | Issue) -> tuple[RepoRecord, int]:
        repo = target.base_repo if isinstance(target, PullRequest) else target.repo
        record = self._repo(repo)
        if isinstance(target, PullRequest):
            self._pull(target)
        elif self._world.find_issue(record.id, target.number) is None:
            raise KeyError(f"no issue #{target.number} in {repo.full_name}")
        return record, target.number

    async def comment(
        self,
        target: PullRequest | Issue,
        body: str,
        *,
        author: str = DEFAULT_ACTOR,
        author_association: str = "MEMBER",
    ) -> IssueComment:
        """Someone writes a comment on the pull request or issue: issue_comment created goes
        to each subscribed app that may read issues (`issue.pull_request` is set on a pull
        request's). `author_association` is what GitHub would say of the author here:
        OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, FIRST_TIME_CONTRIBUTOR, FIRST_TIMER, NONE."""
        record, number = self._issue_target(target)
        person = self._world.account(author)
        moment = now()
        comment = CommentRecord(
            id=self._world.next_comment_id(),
            repo_id=record.id,
            number=number,
            body=body,
            author=person,
            author_association=author_association,
            created_at=moment,
            updated_at=moment,
        )
        self._world.comments[comment.id] = comment
        await _settle(self._hub.events.issue_comment("created", comment, person))
        return self._world.comment(comment)

    def add_collaborator(self, repo: Repository, login: str, role: str = "write") -> None:
        """`login` gets `role` in the repository (admin, maintain, write, triage or read), as
        `GET .../collaborators/{login}/permission` then shows it. Whatever their role,
        comments say of them what `comment(author_association=...)` is told."""
        if role not in ("admin", "maintain", "write", "triage", "read"):
            raise ValueError(f"no such role: {role!r}")
        self._world.account(login)
        self._repo(repo).collaborators[login.lower()] = role

    def reactions(self, comment: IssueComment) -> list[tuple[str, str]]:
        """(content, login) of each reaction to the comment, oldest first."""
        record = self._world.comments[comment.id]
        return [(reaction.content, reaction.user.login) for reaction in record.reactions]

    def comments(self, target: PullRequest | Issue) -> list[IssueComment]:
        record, number = self._issue_target(target)
        return [self._world.comment(c) for c in self._world.comments_on(record.id, number)]

    # -- branch protection and rulesets ----------------------------------------------------

    async def protect_branch(
        self, repo: Repository, branch: str, settings: Mapping[str, Any]
    ) -> dict[str, Any]:
        """What an admin does in Settings → Branches, with the body of PUT .../protection
        (validated the same way; ValueError with GitHub's message when it is refused).
        Returns the protection as GET shows it."""
        record = self._repo(repo)
        if await gitcmd.branch_tip(record.bare_path, branch) is None:
            raise ValueError(f"{repo.full_name} has no branch {branch!r}")
        try:
            made = protection.protection_from_put(self._world, record, branch, dict(settings))
        except ApiError as error:
            raise ValueError(error.message) from None
        self._world.protections[(record.id, branch)] = made
        return protection_json.protection_json(self._hub.builder, record, made)

    def branch_protection(self, repo: Repository, branch: str) -> dict[str, Any] | None:
        """The branch's protection as GET .../protection shows it, or None."""
        record = self._repo(repo)
        found = self._world.protections.get((record.id, branch))
        if found is None:
            return None
        return protection_json.protection_json(self._hub.builder, record, found)

    def create_ruleset(self, repo: Repository, ruleset: Mapping[str, Any]) -> dict[str, Any]:
        """What an admin does in Settings → Rules → Rulesets, with the body of POST
        .../rulesets. Returns the ruleset as GET shows it to an admin."""
        record = self._repo(repo)
        try:
            made = rulesets.create_ruleset(self._world, record, dict(ruleset))
        except ApiError as error:
            raise ValueError(error.message) from None
        return rulesets.ruleset_json(self._hub.builder, record, made, full=True, admin=True)

    def rulesets(self, repo: Repository) -> list[dict[str, Any]]:
        record = self._repo(repo)
        return [
            rulesets.ruleset_json(self._hub.builder, record, ruleset, full=True, admin=True)
            for ruleset in self._world.rulesets_of_repo(record.id)
        ]

    # -- buttons ---------------------------------------------------------------------------

    async def rerequest_check_suite(
        self,
        repo: Repository,
        head_sha: str,
        *,
        force: bool = False,
        sender: str | None = None,
    ) -> list[WebhookDelivery]:
        """ "Re-run all checks" on the commit: check_suite rerequested to each app with a suite
        there. Refused while one of the suite's runs is still queued or in progress."""
        record = self._repo(repo)
        suites = [
            suite
            for suite in self._world.suites.values()
            if suite.repo_id == record.id and suite.head_sha == head_sha
        ]
        if not suites:
            raise ValueError(f"no check suite for {head_sha} in {repo.full_name}")
        for suite in suites:
            runs = self._world.runs_of_suite(suite.id)
            if not force and any(run.status != COMPLETED for run in runs):
                raise ValueError(
                    f"check suite {suite.id} is still running; GitHub offers no re-run"
                )
        actor = self._person(sender, record.owner)
        pending = []
        for suite in suites:
            suite.reset = True
            suite.announced_completed = False
            pending += _some(await self._hub.events.check_suite("rerequested", suite, actor))
        return await _settle(pending)

    async def rerequest_check_run(
        self, check_run_id: int, *, force: bool = False, sender: str | None = None
    ) -> list[WebhookDelivery]:
        """The "Re-run" button on one run. GitHub shows it on completed runs that did not
        succeed; `force` also allows a successful one."""
        run = self._world.runs.get(check_run_id)
        if run is None:
            raise ValueError(f"no check run {check_run_id}")
        if run.status != COMPLETED:
            raise ValueError(
                f"check run {check_run_id} is {run.status}; only finished runs can be re-run"
            )
        if run.conclusion == "success" and not force:
            raise ValueError(f"check run {check_run_id} succeeded; pass force=True to re-run it")
        suite = self._world.suites[run.suite_id]
        suite.reset = True
        suite.announced_completed = False
        actor = self._person(sender, self._world.repos[run.repo_id].owner)
        return await _settle(await self._hub.events.check_run("rerequested", run, actor))

    async def rerequest_failed_checks(
        self, repo: Repository, head_sha: str, *, sender: str | None = None
    ) -> list[WebhookDelivery]:
        """ "Re-run failed checks": one check_run rerequested per run of the commit whose
        (latest) verdict is not a success, neutral or skipped one."""
        record = self._repo(repo)
        newest: dict[tuple[int, str], RunRecord] = {}
        for run in self._world.runs.values():
            if run.repo_id == record.id and run.head_sha == head_sha:
                key = (run.app_id, run.name)
                if key not in newest or run.id > newest[key].id:
                    newest[key] = run
        failed = [
            run
            for run in sorted(newest.values(), key=lambda run: run.id)
            if run.status == COMPLETED and run.conclusion not in ("success", "neutral", "skipped")
        ]
        if not failed:
            raise ValueError(f"no failed check runs for {head_sha} in {repo.full_name}")
        actor = self._person(sender, record.owner)
        pending = []
        for run in failed:
            suite = self._world.suites[run.suite_id]
            suite.reset = True
            suite.announced_completed = False
            pending += await self._hub.events.check_run("rerequested", run, actor)
        return await _settle(pending)

    async def request_action(
        self, check_run_id: int, identifier: str, *, sender: str | None = None
    ) -> list[WebhookDelivery]:
        """A click on one of the run's `actions` buttons."""
        run = self._world.runs.get(check_run_id)
        if run is None:
            raise ValueError(f"no check run {check_run_id}")
        if run.status != COMPLETED:
            raise ValueError("action buttons appear only once the run has completed")
        if not any(action.identifier == identifier for action in run.actions):
            raise ValueError(f"check run {check_run_id} has no action {identifier!r}")
        actor = self._person(sender, self._world.repos[run.repo_id].owner)
        return await _settle(
            await self._hub.events.check_run(
                "requested_action", run, actor, requested_action=identifier
            )
        )

    # -- raw webhooks ----------------------------------------------------------------------

    async def send_webhook(
        self,
        app: GitHubApp,
        event: str,
        payload: Mapping[str, Any],
        *,
        delivery_id: str | None = None,
        signature: str | None = None,
        raw_body: bytes | None = None,
        headers_override: Mapping[str, str | None] | None = None,
    ) -> WebhookDelivery:
        """Sign and POST one delivery as given. `signature` replaces X-Hub-Signature-256 (and
        drops the sha1 one); `raw_body` is sent instead of the encoded payload (and signed,
        unless `signature` is given); a header mapped to None in `headers_override` is left
        out."""
        body = raw_body if raw_body is not None else encode(payload)
        action = payload.get("action")
        installation = payload.get("installation")
        repository = payload.get("repository")
        future = self._hub.sender.submit(
            app.id,
            event,
            body,
            action=action if isinstance(action, str) else None,
            installation_id=installation.get("id") if isinstance(installation, dict) else None,
            repository_id=repository.get("id") if isinstance(repository, dict) else None,
            delivery_id=delivery_id,
            signature=signature,
            headers_override=headers_override,
        )
        return await future


def _some(
    future: asyncio.Future[WebhookDelivery] | None,
) -> list[asyncio.Future[WebhookDelivery]]:
    return [future] if future is not None else []


_PERMISSION_PATH = re.compile(r"/repos/[^/]+/[^/]+/collaborators/[^/]+/permission")


def _git_repo(path: str) -> str:
    """`/owner/name` of a git smart-HTTP path, with or without `.git`."""
    owner, _, rest = path.lstrip("/").partition("/")
    name = rest.partition("/")[0]
    return f"/{owner}/{name.removesuffix('.git')}".lower()
