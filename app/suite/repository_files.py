"""The one way the service reads a file of a repository checkout.

The service runs as root and reads the workspace while it plans (and while it keys a cached
environment). Whatever git checked out is the repository's author's choice, a fork's as much as a
maintainer's: a `.conveyor.yml` committed as a symlink to `/etc/shadow`, a test file linked to
`/dev/zero`. So a path is resolved here one component at a time, each folder opened through the
descriptor of the one before with `O_NOFOLLOW`, and a symlink is followed only while it stays
inside the repository (monorepos link their own files); one that leads out, an absolute one that
names another place, or a `..` above the root is refused without looking at where it points.
What is read must be a regular file, and is read up to a limit.

- `inside`, `read_bytes`, `read_text`, `file_digest` raise `UnreadableFile` (a `ConfigError`
  naming the file) for a link that leads outside, a file that is not a regular file, or one over
  the limit; None means the file is not there.
- `is_file`, `is_dir`, `list_dir` are probes: what they refuse counts as absent, they never raise.
- `excerpt` and `parser_message` quote a repository's text in a message: at most a short piece
  of it, on one line.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import reprlib
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from app.suite.plan import ConfigError

KiB = 1024
MiB = 1024 * KiB
CONFIG_LIMIT = 4 * MiB  # pyproject.toml, .conveyor.yml, setup.cfg, tox.ini, requirements files...
TEST_FILE_LIMIT = 1 * MiB  # a test file read for its style (pytest or unittest)
DIGEST_LIMIT = 256 * MiB  # a dependency file hashed for the environment cache key
# As many links as Linux follows in one path before it gives up with ELOOP.
_MAX_LINKS = 40
_CHUNK = 1 * MiB

_OPEN_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# A name that cannot be there: treated as absent rather than as an error of Conveyor's.
_ABSENT_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG})


def _told_nobody(relative: str) -> None:
    pass


# Told the name of each file that is there before it is opened for reading. The planning process
# sets it to tell its parent, so that a planner killed for time or memory is reported naming
# its file.
reading: Callable[[str], None] = _told_nobody

OUTSIDE = "outside"
NOT_REGULAR = "not a regular file"
TOO_LARGE = "too large"


class UnreadableFile(ConfigError):
    """A file of the repository that Conveyor will not read, and why (`reason`: OUTSIDE,
    NOT_REGULAR or TOO_LARGE). The message never says what the file, or a link's target, holds.
    """

    def __init__(self, relative: str, reason: str, message: str) -> None:
        super().__init__(relative, None, message)
        self.reason = reason

    @property
    def marker(self) -> bytes:
        """Stands for the file in a digest (`b"<outside>"`...), distinct from any sha256."""
        return f"<{self.reason}>".encode()


def _outside(relative: str) -> UnreadableFile:
    return UnreadableFile(
        relative,
        OUTSIDE,
        "is a symbolic link to a place outside the repository (or through one); Conveyor "
        "reads only the repository's own files. Commit the file itself, or a link that stays "
        "inside the repository.",
    )


def _not_regular(relative: str, mode: int) -> UnreadableFile:
    what = "a folder" if stat.S_ISDIR(mode) else "a FIFO, a device or a socket"
    return UnreadableFile(
        relative, NOT_REGULAR, f"is {what}, not a regular file; Conveyor reads only regular files."
    )


def _too_large(relative: str, limit: int) -> UnreadableFile:
    return UnreadableFile(
        relative,
        TOO_LARGE,
        f"is larger than {size_in_words(limit)}, more than Conveyor reads of such a file.",
    )


def size_in_words(size: int) -> str:
    """4194304 → "4 MiB"."""
    for unit, name in ((MiB, "MiB"), (KiB, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size} bytes"


# --------------------------------------------------------------------------------------------
# Resolving a path inside the repository


@dataclass(frozen=True)
class _Found:
    folder: int  # descriptor of the real folder that holds it (open while in use)
    name: str  # its name there, never a symlink; "." when it is the folder itself
    parts: tuple[str, ...]  # the real path, relative to the root
    mode: int  # from lstat


@contextlib.contextmanager
def _resolved(root: Path, relative: str) -> Iterator[_Found | None]:
    """Where `relative` really is, following only links that stay inside `root`.

    Each folder on the way is opened with O_NOFOLLOW through its parent's descriptor, so what is
    checked is what is used; None when it is not there. Raises UnreadableFile (OUTSIDE) for a
    link or `..` that leads out of the root, without reading anything out there.
    """
    if "\0" in relative:
        yield None
        return
    try:
        root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in _ABSENT_ERRNOS:
            yield None
            return
        raise
    # The descriptors of the real folders from the root down to the current one, and their names.
    folders = [root_fd]
    names: list[str] = []
    try:
        yield _walk(root, relative, folders, names)
    finally:
        for fd in folders:
            os.close(fd)


def _walk(root: Path, relative: str, folders: list[int], names: list[str]) -> _Found | None:
    if os.path.isabs(relative):
        raise _outside(relative)
    pending = _components(relative)  # a stack: the next component last
    links = 0
    while pending:
        part = pending.pop()
        if part == "..":
            if len(folders) == 1:
                raise _outside(relative)
            os.close(folders.pop())
            names.pop()
            continue
        try:
            mode = os.stat(part, dir_fd=folders[-1], follow_symlinks=False).st_mode
        except OSError as exc:
            if exc.errno in _ABSENT_ERRNOS:
                return None
            raise
        if stat.S_ISLNK(mode):
            links += 1
            if links > _MAX_LINKS:
                raise _outside(relative)  # a loop, or a chain too long to say where it ends
            target = os.readlink(part, dir_fd=folders[-1])
            if os.path.isabs(target):
                # An absolute link stays inside only if it names the checkout itself, which a
                # repository rarely can; then it is walked again from the root.
                rest = _below(root, target)
                if rest is None:
                    raise _outside(relative)
                while len(folders) > 1:
                    os.close(folders.pop())
                names.clear()
                target = rest
            pending += _components(target)
            continue
        if not pending:
            return _Found(folders[-1], part, (*names, part), mode)
        if not stat.S_ISDIR(mode):
            return None  # a file where a folder should be: the path is not there
        fd = _open_at(folders[-1], part, _OPEN_FOLDER, relative)
        if fd is None:
            return None
        folders.append(fd)
        names.append(part)
    # Every component was `.`, `..` or a link back up: the path is a folder on the way.
    return _Found(folders[-1], ".", tuple(names), os.fstat(folders[-1]).st_mode)


def _open_at(folder: int, name: str, flags: int, relative: str) -> int | None:
    """`name` in `folder`, opened with `flags` (O_NOFOLLOW among them); None when it is gone."""
    try:
        return os.open(name, flags, dir_fd=folder)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # it became a link since the lstat
            raise _outside(relative) from None
        if exc.errno in _ABSENT_ERRNOS:
            return None
        raise


def _components(path: str) -> list[str]:
    """The path's components as a stack (the first one last), without `.` and empty ones."""
    return [part for part in reversed(path.split("/")) if part not in ("", ".")]


def _below(root: Path, target: str) -> str | None:
    """The part of an absolute link target below the root, when it names the root (as given or
    resolved); None otherwise."""
    for base in {os.path.abspath(root), os.path.realpath(root)}:
        if target == base or target.startswith(base.rstrip("/") + "/"):
            return target[len(base) :]
    return None


# --------------------------------------------------------------------------------------------
# Reading


def inside(root: Path, relative: str) -> Path | None:
    """The real path of `relative` when it is inside the repository; None when it is not there.
    Raises UnreadableFile when it leads outside."""
    with _resolved(root, relative) as found:
        if found is None:
            return None
        return Path(os.path.realpath(root), *found.parts)


@contextlib.contextmanager
def _open_regular(root: Path, relative: str, limit: int) -> Iterator[int | None]:
    """A descriptor of the regular file, opened without following links; None when absent."""
    with _resolved(root, relative) as found:
        if found is None:
            yield None
            return
        reading(relative)
        # Checked before opening: opening a device or a FIFO can itself do something.
        if not stat.S_ISREG(found.mode):
            raise _not_regular(relative, found.mode)
        fd = _open_at(found.folder, found.name, _OPEN_FILE, relative)
        if fd is None:
            yield None
            return
        try:
            status = os.fstat(fd)
            if not stat.S_ISREG(status.st_mode):  # replaced since the lstat
                raise _not_regular(relative, status.st_mode)
            if status.st_size > limit:
                raise _too_large(relative, limit)
            yield fd
        finally:
            os.close(fd)


def _chunks(fd: int, relative: str, limit: int) -> Iterator[bytes]:
    """The file's bytes; UnreadableFile as soon as there are more than `limit` (the size fstat
    gave is checked too, but a file can grow)."""
    total = 0
    while chunk := os.read(fd, min(_CHUNK, limit + 1 - total)):
        total += len(chunk)
        if total > limit:
            raise _too_large(relative, limit)
        yield chunk


def read_bytes(root: Path, relative: str, *, limit: int) -> bytes | None:
    """The file's content, None when it is not there. UnreadableFile when it leads outside the
    repository, is not a regular file (a folder, a FIFO...), or is larger than `limit` bytes."""
    with _open_regular(root, relative, limit) as fd:
        if fd is None:
            return None
        return b"".join(_chunks(fd, relative, limit))


def read_text(root: Path, relative: str, *, limit: int) -> str | None:
    """`read_bytes` decoded as UTF-8 (undecodable bytes replaced, as the tools reading it would
    complain about them themselves)."""
    data = read_bytes(root, relative, limit=limit)
    return None if data is None else data.decode("utf-8", errors="replace")


def file_digest(root: Path, relative: str, *, limit: int = DIGEST_LIMIT) -> bytes | None:
    """sha256 of the file (32 bytes), read in chunks; None when it is not there. UnreadableFile
    (whose `marker` can stand for it) when it leads outside, is not a regular file, or is larger
    than `limit`."""
    with _open_regular(root, relative, limit) as fd:
        if fd is None:
            return None
        digest = hashlib.sha256()
        for chunk in _chunks(fd, relative, limit):
            digest.update(chunk)
        return digest.digest()


# --------------------------------------------------------------------------------------------
# Probes: what is refused counts as absent


def _mode(root: Path, relative: str) -> int | None:
    try:
        with _resolved(root, relative) as found:
            return None if found is None else found.mode
    except (UnreadableFile, OSError):
        return None


def is_file(root: Path, relative: str) -> bool:
    """A regular file inside the repository (through links that stay inside)."""
    mode = _mode(root, relative)
    return mode is not None and stat.S_ISREG(mode)


def is_dir(root: Path, relative: str) -> bool:
    """A folder inside the repository (through links that stay inside)."""
    mode = _mode(root, relative)
    return mode is not None and stat.S_ISDIR(mode)


def list_dir(root: Path, relative: str) -> list[str] | None:
    """The names in a folder of the repository, sorted; None when it is not there, is not a
    folder, or is reached through a link that leads outside."""
    try:
        with _resolved(root, relative) as found:
            if found is None or not stat.S_ISDIR(found.mode):
                return None
            fd = os.open(found.name, _OPEN_FOLDER, dir_fd=found.folder)
            try:
                return sorted(os.listdir(fd))
            finally:
                os.close(fd)
    except (UnreadableFile, OSError):
        return None


# --------------------------------------------------------------------------------------------
# Quoting a repository's text in a message


def excerpt(value: object, limit: int = 40) -> str:
    """At most `limit` characters of a value from a repository's file, on one line, to quote it
    in a message that may be public: a message is no way to read a file out.

    A string is quoted as it is, anything else as its repr, made by reprlib: a YAML list built
    of aliases of aliases is small in the file and astronomically long as a whole repr.
    """
    text = value if isinstance(value, str) else _short_repr(value, limit)
    cut = len(text) > limit
    text = text[: limit - 1] if cut else text
    text = re.sub(r"[\x00-\x1f\x7f]", lambda m: repr(m.group())[1:-1], text)
    return text + "…" if cut else text


def _short_repr(value: object, limit: int) -> str:
    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = shortener.maxlong = limit + 2
    shortener.maxlevel = 3
    return shortener.repr(value)


# tomllib ends its messages with the position, e.g. "(at line 3, column 7)".
_POSITION = re.compile(r"\s*(\(at (?:line \d+, column \d+|end of document)\))$")


def parser_message(message: str, limit: int = 100) -> str:
    """A TOML or YAML parser's message about a repository's file: its first line (PyYAML's
    further lines show the file's text), each quoted value cut to an excerpt, the whole at most
    about `limit` characters, the position it ends with kept."""
    first = next((line for line in message.splitlines() if line.strip()), "").strip()
    position = _POSITION.search(first)
    body = first[: position.start()] if position else first
    body = re.sub(r"'([^']*)'", lambda m: f"'{excerpt(m.group(1))}'", body)
    body = excerpt(body, limit)
    return f"{body} {position.group(1)}" if position else body
