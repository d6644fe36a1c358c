"""Getting a commit onto disk: a mirror per repository, a fresh workspace per run.

The mirror is a bare repository that only ever grows, so the second push of a repository fetches
only the new objects. The token travels to git in its environment (GIT_CONFIG_*), never on its
command line (other local users can read that) and never into a config file or the workspace.

Every git step runs against a deadline (the job's: `JOB_TIMEOUT` from its start) and a cancel
event: at either, git and whatever it started (its remote helper, `git-remote-https`) are killed
as a process group. A server that accepts the connection and then says nothing is also dropped by
git itself after LOW_SPEED_TIME (curl's low-speed limit). The mirror's lock is awaited only until
the waiter's own deadline, and is held only while its holder's git runs, which ends at the
holder's deadline: a hanging fetch never holds up the repository's other commits for longer.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import os
import re
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from app.report.model import Conclusion
from app.suite.process import Finished, run_command

# Where the mirror keeps the repository's branches: `_fetch_commit` stores refs/heads/X here too.
BRANCHES = "refs/conveyor/heads"
# git (curl) gives up on a transfer slower than LOW_SPEED_LIMIT bytes/s for LOW_SPEED_TIME
# seconds. One byte a second: a server that is working sends keep-alives (upload-pack's, every 5
# s) while it counts objects, so only one that has gone silent is dropped, long before a default
# JOB_TIMEOUT of 30 minutes.
LOW_SPEED_LIMIT = 1
LOW_SPEED_TIME = 60
_LOW_SPEED = (
    "-c",
    f"http.lowSpeedLimit={LOW_SPEED_LIMIT}",
    "-c",
    f"http.lowSpeedTime={LOW_SPEED_TIME}",
)
_LOCK_POLL = 0.05  # seconds between tries of another process's lock on a mirror


class CheckoutError(Exception):
    """The commit could not be fetched or checked out; the message says why, without secrets."""

    conclusion: Conclusion = "failure"
    title = "Could not fetch the commit"


class CheckoutTimeout(CheckoutError):
    """A git step, or the wait for the mirror's lock, reached the job's deadline; git was killed.

    `timed_out` rather than `failure`: the check did not fail on the commit's merits, the job
    ran out of its time (GitHub's conclusion for exactly that), and the title says in which step.
    """

    conclusion: Conclusion = "timed_out"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.title = "Could not fetch the commit: timed out"

    def after(self, seconds: float) -> CheckoutTimeout:
        self.title = f"Could not fetch the commit: timed out after {seconds:.0f} s"
        return self


@dataclass(frozen=True)
class Deadline:
    """When git must be done (`time.monotonic()`; None: never), and what cancels it."""

    at: float | None = None
    cancel: asyncio.Event | None = None

    @staticmethod
    def after(seconds: float, cancel: asyncio.Event | None = None) -> Deadline:
        return Deadline(time.monotonic() + seconds, cancel)

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()


class Mirrors:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def _lock(self, key: str, deadline: float | None) -> AsyncIterator[None]:
        """One fetch into a mirror at a time, among this process's tasks and among the
        processes that share the data folder (a web and a worker process on one machine).

        Waited for until `deadline` only: then CheckoutTimeout. The holder's git is killed at
        its own deadline, so a hang holds the lock no longer than the hanging job's time."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with asyncio.timeout_at(_loop_time(deadline)):
                await lock.acquire()
        except TimeoutError:
            raise CheckoutTimeout(_busy()) from None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with (self.root / f"{key}.lock").open("a") as handle:
                while True:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if deadline is not None and time.monotonic() >= deadline:
                            raise CheckoutTimeout(_busy()) from None
                        await asyncio.sleep(_LOCK_POLL)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            lock.release()

    def objects(self, key: str) -> Path:
        """The mirror's object store: a workspace borrows from it (`clone --shared`)."""
        return self.root / f"{key}.git" / "objects"

    async def checkout(
        self,
        *,
        key: str,
        clone_url: str,
        token: str | None,
        ref: str,
        sha: str,
        workspace: Path,
        deadline: Deadline | None = None,
    ) -> None:
        """Fetch `ref` (which must hold `sha`) into the mirror `key`, then check `sha` out.

        CheckoutTimeout when `deadline` comes first (its title says after how long)."""
        until = deadline or Deadline()
        begun = time.monotonic()
        mirror = self.root / f"{key}.git"
        try:
            async with self._lock(key, until.at):
                if not (mirror / "HEAD").exists():
                    mirror.parent.mkdir(parents=True, exist_ok=True)
                    await _git(["init", "--bare", "--quiet", str(mirror)], None, until)
                if not await _has_commit(mirror, sha, until):
                    await self._fetch_commit(mirror, clone_url, token, ref, sha, until)
            if workspace.exists():
                shutil.rmtree(workspace)
            workspace.parent.mkdir(parents=True, exist_ok=True)
            # --shared borrows the mirror's objects instead of copying them: a checkout costs
            # the work tree, not the history.
            await _git(
                ["clone", "--quiet", "--shared", "--no-checkout", str(mirror), str(workspace)],
                None,
                until,
            )
            await _git(["-C", str(workspace), "checkout", "--quiet", "--detach", sha], None, until)
        except CheckoutTimeout as error:
            raise error.after(time.monotonic() - begun) from None

    async def _fetch_commit(
        self, mirror: Path, url: str, token: str | None, ref: str, sha: str, until: Deadline
    ) -> None:
        if ref.startswith("refs/"):
            try:
                await _fetch(mirror, url, token, f"+{ref}:refs/conveyor/{_safe(ref)}", until)
            except CheckoutTimeout:
                raise  # the time is up: no second try
            except CheckoutError:
                pass
            if await _has_commit(mirror, sha, until):
                return
        # The branch moved on (or was deleted) since the event: ask for the commit itself.
        await _fetch(mirror, url, token, sha, until)
        if not await _has_commit(mirror, sha, until):
            raise CheckoutError(f"commit {sha} is not in {ref} of {_redact_url(url)}")

    async def branch_holding(
        self,
        *,
        key: str,
        clone_url: str,
        token: str | None,
        sha: str,
        deadline: Deadline | None = None,
    ) -> str | None:
        """A branch of the repository whose history holds `sha`, or None.

        Only people with write access to a repository put commits on its branches: this is
        the fact that makes a commit trusted (a fork's commits are in the repository too, under
        refs/pull/, but on none of its branches). Branches fetched earlier count even if they
        have moved since: the commit was on one. Otherwise all branches are fetched once.
        A fetch that fails or runs out of time finds no branch: untrusted is the safe answer.
        """
        until = deadline or Deadline()
        mirror = self.root / f"{key}.git"
        try:
            found = await _branch_containing(mirror, sha, until)
            if found is not None:
                return found
            async with self._lock(key, until.at):
                try:
                    await _fetch(mirror, clone_url, token, f"+refs/heads/*:{BRANCHES}/*", until)
                except CheckoutError:
                    return None
            return await _branch_containing(mirror, sha, until)
        except CheckoutTimeout:
            return None

    async def commit_message(self, key: str, sha: str, deadline: Deadline | None = None) -> str:
        mirror = self.root / f"{key}.git"
        try:
            result = await _run_git(
                ["-C", str(mirror), "log", "-1", "--format=%B", sha], None, deadline or Deadline()
            )
        except CheckoutTimeout:
            return ""
        return result.output if result.returncode == 0 else ""

    async def changed_lines(
        self,
        *,
        key: str,
        clone_url: str,
        token: str | None,
        base_branch: str,
        sha: str,
        deadline: Deadline | None = None,
    ) -> dict[str, frozenset[int]]:
        """The lines `sha` adds or changes against where it left `base_branch` (a pull
        request's diff); empty when the base cannot be fetched, or in time."""
        until = deadline or Deadline()
        try:
            return await self._changed_lines(key, clone_url, token, base_branch, sha, until)
        except CheckoutTimeout:
            return {}

    async def _changed_lines(
        self,
        key: str,
        clone_url: str,
        token: str | None,
        base_branch: str,
        sha: str,
        until: Deadline,
    ) -> dict[str, frozenset[int]]:
        mirror = self.root / f"{key}.git"
        base_ref = f"refs/heads/{base_branch}"
        async with self._lock(key, until.at):
            try:
                await _fetch(
                    mirror,
                    clone_url,
                    token,
                    f"+{base_ref}:refs/conveyor/base/{_safe(base_ref)}",
                    until,
                )
            except CheckoutError:
                return {}
        base = await _run_git(
            ["-C", str(mirror), "merge-base", f"refs/conveyor/base/{_safe(base_ref)}", sha],
            None,
            until,
        )
        if base.returncode != 0:
            return {}
        diff = await _run_git(
            [
                "-C",
                str(mirror),
                "diff",
                "--unified=0",
                "--no-color",
                "--no-ext-diff",
                "--no-renames",
                base.output.strip(),
                sha,
            ],
            None,
            until,
        )
        return parse_changed_lines(diff.output) if diff.returncode == 0 else {}


def parse_changed_lines(diff: str) -> dict[str, frozenset[int]]:
    """`git diff --unified=0` → path → the new side's line numbers of every hunk."""
    changed: dict[str, set[int]] = {}
    path: str | None = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            target = line[4:]
            path = target[2:] if target.startswith("b/") else None  # /dev/null: deleted
        elif line.startswith("@@") and path is not None:
            # @@ -12,3 +14,5 @@  → lines 14..18 of the new file
            found = re.match(r"@@ -\S+ \+(\d+)(?:,(\d+))? @@", line)
            if found:
                start, count = int(found.group(1)), int(found.group(2) or "1")
                changed.setdefault(path, set()).update(range(start, start + count))
    return {name: frozenset(lines) for name, lines in changed.items()}


def borrow_objects_from(workspace: Path, objects: str) -> None:
    """Point the workspace's borrowed objects at `objects`: where the sandbox shows the mirror's.

    The mirror's real path would reveal (and need) the data folder inside the sandbox.
    """
    (workspace / ".git" / "objects" / "info" / "alternates").write_text(f"{objects}\n")


async def _branch_containing(mirror: Path, sha: str, until: Deadline) -> str | None:
    result = await _run_git(
        [
            "-C",
            str(mirror),
            "for-each-ref",
            "--count=1",
            f"--contains={sha}",
            "--format=%(refname)",
            BRANCHES,
        ],
        None,
        until,
    )
    name = result.output.strip()
    if result.returncode != 0 or not name.startswith(BRANCHES + "/"):
        return None
    return name.removeprefix(BRANCHES + "/")


async def _fetch(mirror: Path, url: str, token: str | None, refspec: str, until: Deadline) -> None:
    await _git(["-C", str(mirror), "fetch", "--quiet", "--no-tags", url, refspec], token, until)


async def _has_commit(mirror: Path, sha: str, until: Deadline) -> bool:
    result = await _run_git(["-C", str(mirror), "cat-file", "-e", f"{sha}^{{commit}}"], None, until)
    return result.returncode == 0


async def _git(args: list[str], token: str | None, until: Deadline) -> None:
    result = await _run_git(args, token, until)
    if result.returncode != 0:
        message = result.output.strip().splitlines()
        last = message[-1] if message else f"exit code {result.returncode}"
        if token:
            last = last.replace(token, "***")
        raise CheckoutError(f"git {_verb(args)}: {last}")


async def _run_git(args: list[str], token: str | None, until: Deadline) -> Finished:
    """git with the low-speed limits, killed (with its process group) at the deadline or on
    cancel: CheckoutTimeout for the one, CheckoutError for the other."""
    timeout = until.remaining()
    if timeout is not None and timeout <= 0:
        raise CheckoutTimeout(f"git {_verb(args)}: not started, the job's time is up")
    result = await run_command(
        ["git", *_LOW_SPEED, *args], env=_git_env(token), timeout=timeout, cancel=until.cancel
    )
    if result.timed_out:
        raise CheckoutTimeout(
            f"git {_verb(args)}: no end within the {timeout:.0f} s left of the job's time "
            "(JOB_TIMEOUT); stopped"
        )
    if result.cancelled:
        raise CheckoutError(f"git {_verb(args)}: stopped, the run was cancelled")
    return result


def _verb(args: list[str]) -> str:
    return args[0] if args[0] != "-C" else args[2]


def _busy() -> str:
    return (
        "another run of this repository was still fetching into its mirror when this job's "
        "time ran out (JOB_TIMEOUT); it is stopped at its own deadline"
    )


def _loop_time(deadline: float | None) -> float | None:
    """A time.monotonic() deadline on the event loop's clock."""
    if deadline is None:
        return None
    return asyncio.get_running_loop().time() + (deadline - time.monotonic())


def _git_env(token: str | None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "LC_ALL": "C",
    }
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
        )
    return env


def _safe(ref: str) -> str:
    return ref.removeprefix("refs/").replace("..", "_")


def _redact_url(url: str) -> str:
    if "@" in url.split("//", 1)[-1].split("/", 1)[0]:
        scheme, rest = url.split("//", 1)
        return f"{scheme}//{rest.split('@', 1)[1]}"
    return url
