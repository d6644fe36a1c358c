"""Scenario steps around issues: opening one, commenting on an issue or a pull request (the
issue_comment webhook), making someone a collaborator, and reading comments and reactions."""

from __future__ import annotations

from app.localgithub.models import Issue, IssueComment, PullRequest, Repository
from app.localgithub.records import CommentRecord, IssueRecord, RepoRecord
from app.localgithub.steps_common import DEFAULT_ACTOR, Steps, settle
from app.localgithub.timeutil import now


class IssueSteps(Steps):
    """Issues, comments, collaborators and reactions."""

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
        await settle(self._hub.events.issue_comment("created", comment, person))
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
