"""Getting a commit onto disk: a mirror per repository, a fresh workspace per run.

The mirror is a bare repository that only ever grows, so the second push of a repository fetches
only the new objects. The token travels to git in its environment (GIT_CONFIG_*), never on its
command line (other local users can read that) and never into a config file or the workspace.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from app.suite.process import run_command

# Where the mirror keeps the repository's branches: `_fetch_commit` stores refs/heads/X here too.
BRANCHES = "refs/conveyor/heads"


class CheckoutError(Exception):
    """The commit could not be fetched or checked out; the message says why, without secrets."""


class Mirrors:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def _lock(self, key: str) -> AsyncIterator[None]:
        """One fetch into a mirror at a time, among this process's tasks and among the
        processes that share the data folder (a web and a worker process on one machine)."""
        async with self._locks.setdefault(key, asyncio.Lock()):
            self.root.mkdir(parents=True, exist_ok=True)
            with (self.root / f"{key}.lock").open("a") as handle:
                while True:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        await asyncio.sleep(0.05)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

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
    ) -> None:
        """Fetch `ref` (which must hold `sha`) into the mirror `key`, then check `sha` out."""
        mirror = self.root / f"{key}.git"
        async with self._lock(key):
            if not (mirror / "HEAD").exists():
                mirror.parent.mkdir(parents=True, exist_ok=True)
                await _git(["init", "--bare", "--quiet", str(mirror)], token=None)
            if not await _has_commit(mirror, sha):
                await self._fetch_commit(mirror, clone_url, token, ref, sha)
        if workspace.exists():
            shutil.rmtree(workspace)
        workspace.parent.mkdir(parents=True, exist_ok=True)
        # --shared borrows the mirror's objects instead of copying them: a checkout costs the
        # work tree, not the history.
        await _git(
            ["clone", "--quiet", "--shared", "--no-checkout", str(mirror), str(workspace)],
            token=None,
        )
        await _git(["-C", str(workspace), "checkout", "--quiet", "--detach", sha], token=None)

    async def _fetch_commit(
        self, mirror: Path, url: str, token: str | None, ref: str, sha: str
    ) -> None:
        if ref.startswith("refs/"):
            with contextlib.suppress(CheckoutError):
                await _fetch(mirror, url, token, f"+{ref}:refs/conveyor/{_safe(ref)}")
            if await _has_commit(mirror, sha):
                return
        # The branch moved on (or was deleted) since the event: ask for the commit itself.
        await _fetch(mirror, url, token, sha)
        if not await _has_commit(mirror, sha):
            raise CheckoutError(f"commit {sha} is not in {ref} of {_redact_url(url)}")

    async def branch_holding(
        self, *, key: str, clone_url: str, token: str | None, sha: str
    ) -> str | None:
        """A branch of the repository whose history holds `sha`, or None.

        Only people with write access to a repository put commits on its branches: this is
        the fact that makes a commit trusted (a fork's commits are in the repository too, under
        refs/pull/, but on none of its branches). Branches fetched earlier count even if they
        have moved since: the commit was on one. Otherwise all branches are fetched once.
        """
        mirror = self.root / f"{key}.git"
        found = await _branch_containing(mirror, sha)
        if found is not None:
            return found
        async with self._lock(key):
            try:
                await _fetch(mirror, clone_url, token, f"+refs/heads/*:{BRANCHES}/*")
            except CheckoutError:
                return None
        return await _branch_containing(mirror, sha)

    async def commit_message(self, key: str, sha: str) -> str:
        mirror = self.root / f"{key}.git"
        result = await run_command(
            ["git", "-C", str(mirror), "log", "-1", "--format=%B", sha], env=_git_env(None)
        )
        return result.output if result.returncode == 0 else ""

    async def changed_lines(
        self, *, key: str, clone_url: str, token: str | None, base_branch: str, sha: str
    ) -> dict[str, frozenset[int]]:
        """The lines `sha` adds or changes against where it left `base_branch` (a pull
        request's diff); empty when the base cannot be fetched."""
        mirror = self.root / f"{key}.git"
        base_ref = f"refs/heads/{base_branch}"
        async with self._lock(key):
            try:
                await _fetch(
                    mirror, clone_url, token, f"+{base_ref}:refs/conveyor/base/{_safe(base_ref)}"
                )
            except CheckoutError:
                return {}
        base = await run_command(
            ["git", "-C", str(mirror), "merge-base", f"refs/conveyor/base/{_safe(base_ref)}", sha],
            env=_git_env(None),
        )
        if base.returncode != 0:
            return {}
        diff = await run_command(
            [
                "git",
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
            env=_git_env(None),
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


async def _branch_containing(mirror: Path, sha: str) -> str | None:
    result = await run_command(
        [
            "git",
            "-C",
            str(mirror),
            "for-each-ref",
            "--count=1",
            f"--contains={sha}",
            "--format=%(refname)",
            BRANCHES,
        ],
        env=_git_env(None),
    )
    name = result.output.strip()
    if result.returncode != 0 or not name.startswith(BRANCHES + "/"):
        return None
    return name.removeprefix(BRANCHES + "/")


async def _fetch(mirror: Path, url: str, token: str | None, refspec: str) -> None:
    await _git(["-C", str(mirror), "fetch", "--quiet", "--no-tags", url, refspec], token=token)


async def _has_commit(mirror: Path, sha: str) -> bool:
    result = await run_command(
        ["git", "-C", str(mirror), "cat-file", "-e", f"{sha}^{{commit}}"], env=_git_env(None)
    )
    return result.returncode == 0


async def _git(args: list[str], *, token: str | None) -> None:
    result = await run_command(["git", *args], env=_git_env(token))
    if result.returncode != 0:
        message = result.output.strip().splitlines()
        last = message[-1] if message else f"exit code {result.returncode}"
        if token:
            last = last.replace(token, "***")
        raise CheckoutError(f"git {args[0] if args[0] != '-C' else args[2]}: {last}")


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
