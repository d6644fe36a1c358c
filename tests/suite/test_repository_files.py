"""Reading a repository's files: links that stay inside are followed, nothing outside is read,
only regular files, never more than the limit; messages quote only a short piece."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from app.suite.plan import ConfigError
from app.suite.repository_files import (
    CONFIG_LIMIT,
    NOT_REGULAR,
    OUTSIDE,
    TOO_LARGE,
    MiB,
    UnreadableFile,
    excerpt,
    file_digest,
    inside,
    is_dir,
    is_file,
    list_dir,
    parser_message,
    read_bytes,
    read_text,
    size_in_words,
)

CANARY = "SECRET-CANARY-1234: x\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository beside a folder of host files it must never read."""
    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "real.yml").write_text("checks: {}\n")
    host = tmp_path / "host"
    host.mkdir()
    (host / "secrets.json").write_text(CANARY)
    return root


def host_file(repo: Path) -> Path:
    return repo.parent / "host" / "secrets.json"


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fails the test instead of hanging it (a read of a FIFO or /dev/zero never ends)."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"still reading after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def refused(root: Path, relative: str) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as caught:
        read_bytes(root, relative, limit=CONFIG_LIMIT)
    return caught.value


# ---- what is read


def test_a_regular_file(repo: Path) -> None:
    assert read_bytes(repo, "sub/real.yml", limit=CONFIG_LIMIT) == b"checks: {}\n"
    assert read_text(repo, "./sub//real.yml", limit=CONFIG_LIMIT) == "checks: {}\n"
    assert inside(repo, "sub/real.yml") == repo.resolve() / "sub" / "real.yml"
    assert is_file(repo, "sub/real.yml")
    assert not is_dir(repo, "sub/real.yml")
    assert is_dir(repo, "sub")
    assert is_dir(repo, ".")
    assert not is_file(repo, "sub")


def test_invalid_utf8_is_replaced(repo: Path) -> None:
    (repo / "latin1.txt").write_bytes(b"caf\xe9\n")
    assert read_text(repo, "latin1.txt", limit=CONFIG_LIMIT) == "caf\ufffd\n"


@pytest.mark.parametrize(
    "relative", ["missing.yml", "nothere/real.yml", "sub/real.yml/below", "a\0b", "x" * 300]
)
def test_absent(repo: Path, relative: str) -> None:
    assert read_bytes(repo, relative, limit=CONFIG_LIMIT) is None
    assert read_text(repo, relative, limit=CONFIG_LIMIT) is None
    assert file_digest(repo, relative) is None
    assert inside(repo, relative) is None
    assert not is_file(repo, relative)
    assert not is_dir(repo, relative)
    assert list_dir(repo, relative) is None


def test_a_root_that_is_not_there(tmp_path: Path) -> None:
    assert read_bytes(tmp_path / "gone", "pyproject.toml", limit=CONFIG_LIMIT) is None
    assert not is_file(tmp_path / "gone", "pyproject.toml")


# ---- links that stay inside: followed (monorepos link their own files)


def test_links_inside_the_repository_are_followed(repo: Path) -> None:
    (repo / ".conveyor.yml").symlink_to("sub/real.yml")
    (repo / "sub" / "up.yml").symlink_to("../.conveyor.yml")  # a link to a link, via ..
    (repo / "docs").symlink_to("sub", target_is_directory=True)
    (repo / "sub" / "loop").symlink_to(".", target_is_directory=True)
    real = repo.resolve() / "sub" / "real.yml"
    for relative in (".conveyor.yml", "sub/up.yml", "docs/real.yml", "sub/loop/loop/real.yml"):
        assert read_text(repo, relative, limit=CONFIG_LIMIT) == "checks: {}\n", relative
        assert inside(repo, relative) == real
        assert is_file(repo, relative)
    assert is_dir(repo, "docs")
    assert list_dir(repo, "docs") == ["loop", "real.yml", "up.yml"]
    assert inside(repo, "sub/..") == repo.resolve()


def test_an_absolute_link_naming_the_checkout_itself_is_followed(repo: Path) -> None:
    (repo / "abs.yml").symlink_to(repo / "sub" / "real.yml")
    assert read_text(repo, "abs.yml", limit=CONFIG_LIMIT) == "checks: {}\n"


def test_a_dangling_link_inside_is_absent(repo: Path) -> None:
    (repo / "gone.yml").symlink_to("sub/nothing.yml")
    assert read_bytes(repo, "gone.yml", limit=CONFIG_LIMIT) is None
    assert not is_file(repo, "gone.yml")


# ---- links that lead outside: never followed, whatever they point at


def test_links_that_lead_outside_are_refused(repo: Path) -> None:
    host = host_file(repo)
    (repo / "direct.yml").symlink_to(host)  # absolute
    (repo / "sub" / "climb.yml").symlink_to("../../host/secrets.json")  # relative, climbs out
    (repo / "sub" / "etc").symlink_to("../../../../../../../../etc/hostname")
    (repo / "hostdir").symlink_to(host.parent, target_is_directory=True)  # a folder outside
    (repo / "sub" / "through").symlink_to("../hostdir/secrets.json")  # through that folder
    (repo / "zero.py").symlink_to("/dev/zero")
    (repo / "root").symlink_to("/", target_is_directory=True)
    for relative in (
        "direct.yml",
        "sub/climb.yml",
        "sub/etc",
        "hostdir/secrets.json",
        "sub/through",
        "zero.py",
        f"root{host}",
        "../host/secrets.json",
        "sub/../../host/secrets.json",
        str(host),
    ):
        with within(5):
            problem = refused(repo, relative)
        assert problem.reason == OUTSIDE
        assert problem.path == relative
        assert "outside the repository" in problem.message
        # Neither what is out there, nor even where the link points.
        assert "CANARY" not in str(problem)
        assert "host" not in problem.message
        with pytest.raises(UnreadableFile):
            inside(repo, relative)
        with pytest.raises(UnreadableFile):
            file_digest(repo, relative)
        # Probes count it as absent, and never raise.
        assert not is_file(repo, relative)
        assert not is_dir(repo, relative)
    assert list_dir(repo, "hostdir") is None
    assert list_dir(repo, "root") is None
    assert host.read_text() == CANARY


def test_a_loop_of_links_is_refused(repo: Path) -> None:
    (repo / "a").symlink_to("b")
    (repo / "b").symlink_to("a")
    assert refused(repo, "a").reason == OUTSIDE
    assert not is_file(repo, "a")


def test_a_folder_swapped_for_a_link_after_the_check_is_not_entered(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Planning runs before any repository code, but the walk does not rely on that: each folder
    # is opened with O_NOFOLLOW, so a folder replaced by a link between the check and the open
    # fails instead of being followed.
    real_stat = os.stat
    swapped = False

    def stat_then_swap(path: str, **kwargs: object) -> os.stat_result:
        nonlocal swapped
        result = real_stat(path, **kwargs)  # type: ignore[arg-type]
        if path == "sub" and not swapped:
            swapped = True
            os.rename(repo / "sub", repo / "was-sub")
            (repo / "sub").symlink_to(host_file(repo).parent, target_is_directory=True)
            (host_file(repo).parent / "real.yml").write_text(CANARY)
        return result

    monkeypatch.setattr(os, "stat", stat_then_swap)
    # Linux says ENOTDIR for O_DIRECTORY | O_NOFOLLOW on a link: not there, and nothing read.
    assert read_bytes(repo, "sub/real.yml", limit=CONFIG_LIMIT) is None
    assert swapped


def test_a_file_swapped_for_a_link_after_the_check_is_not_opened(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file itself is opened with O_NOFOLLOW: a link put in its place is not followed.
    real_stat = os.stat

    def stat_then_swap(path: str, **kwargs: object) -> os.stat_result:
        result = real_stat(path, **kwargs)  # type: ignore[arg-type]
        if path == "real.yml":
            (repo / "sub" / "real.yml").unlink()
            (repo / "sub" / "real.yml").symlink_to(host_file(repo))
        return result

    monkeypatch.setattr(os, "stat", stat_then_swap)
    problem = refused(repo, "sub/real.yml")
    assert problem.reason == OUTSIDE
    assert "CANARY" not in str(problem)


def test_a_refusal_is_a_configuration_error(repo: Path) -> None:
    # The planner, the worker and `python -m app check` report it as one, naming the file.
    (repo / "pyproject.toml").symlink_to(host_file(repo))
    with pytest.raises(ConfigError) as caught:
        read_text(repo, "pyproject.toml", limit=CONFIG_LIMIT)
    assert str(caught.value).startswith("pyproject.toml: is a symbolic link to a place outside")


# ---- only regular files


def test_a_fifo_is_refused_without_blocking(repo: Path) -> None:
    os.mkfifo(repo / "test_fifo.py")
    (repo / "via-link.py").symlink_to("test_fifo.py")
    for relative in ("test_fifo.py", "via-link.py"):
        with within(5):
            problem = refused(repo, relative)
            with pytest.raises(UnreadableFile):
                file_digest(repo, relative)
        assert problem.reason == NOT_REGULAR
        assert "not a regular file" in problem.message
        assert not is_file(repo, relative)


def test_a_socket_is_refused(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A short path: unix socket addresses are limited to about 100 bytes.
    monkeypatch.chdir(repo)
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind("sock")
        assert refused(repo, "sock").reason == NOT_REGULAR


def test_a_folder_is_refused(repo: Path) -> None:
    problem = refused(repo, "sub")
    assert (problem.path, problem.reason) == ("sub", NOT_REGULAR)
    assert problem.message.startswith("is a folder, not a regular file")
    assert refused(repo, ".").reason == NOT_REGULAR


# ---- sizes


def test_a_file_over_the_limit_is_refused(repo: Path) -> None:
    (repo / "big.toml").write_bytes(b"x" * (2 * MiB + 1))
    assert len(read_bytes(repo, "big.toml", limit=3 * MiB) or b"") == 2 * MiB + 1
    with pytest.raises(UnreadableFile) as caught:
        read_bytes(repo, "big.toml", limit=2 * MiB)
    assert caught.value.reason == TOO_LARGE
    assert str(caught.value) == (
        "big.toml: is larger than 2 MiB, more than Conveyor reads of such a file."
    )


def test_a_file_that_grows_while_read_is_cut_at_the_limit(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fstat said it was small; the reading still stops one byte past the limit.
    (repo / "grows.txt").write_bytes(b"x" * 10)
    real_fstat = os.fstat

    def small(fd: int) -> os.stat_result:
        found = real_fstat(fd)
        return os.stat_result((found.st_mode, *found[1:6], 1, *found[7:]))

    monkeypatch.setattr(os, "fstat", small)
    with pytest.raises(UnreadableFile) as caught:
        read_bytes(repo, "grows.txt", limit=4)
    assert caught.value.reason == TOO_LARGE


@pytest.mark.parametrize(
    ("size", "words"),
    [(4 * MiB, "4 MiB"), (MiB, "1 MiB"), (256 * MiB, "256 MiB"), (2048, "2 KiB"), (10, "10 bytes")],
)
def test_size_in_words(size: int, words: str) -> None:
    assert size_in_words(size) == words


# ---- digests for the environment key


def test_file_digest_streams_a_big_file(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content = os.urandom(MiB) * 5 + b"tail"
    (repo / "poetry.lock").write_bytes(content)
    reads: list[int] = []
    real_read = os.read

    def counted(fd: int, size: int) -> bytes:
        reads.append(size)
        return real_read(fd, size)

    monkeypatch.setattr(os, "read", counted)
    assert file_digest(repo, "poetry.lock") == hashlib.sha256(content).digest()
    assert max(reads) <= MiB
    assert len(reads) >= 6


def test_file_digest_refusals_have_distinct_markers(repo: Path) -> None:
    (repo / "requirements.txt").symlink_to(host_file(repo))
    os.mkfifo(repo / "uv.lock")
    (repo / "poetry.lock").write_bytes(b"x" * 100)
    markers = set()
    for relative, limit in (("requirements.txt", MiB), ("uv.lock", MiB), ("poetry.lock", 10)):
        with pytest.raises(UnreadableFile) as caught:
            file_digest(repo, relative, limit=limit)
        markers.add(caught.value.marker)
    assert markers == {b"<outside>", b"<not a regular file>", b"<too large>"}
    assert file_digest(repo, "sub/real.yml") == hashlib.sha256(b"checks: {}\n").digest()


# ---- listing folders


def test_list_dir(repo: Path) -> None:
    (repo / "b.txt").write_text("")
    assert list_dir(repo, ".") == ["b.txt", "sub"]
    assert list_dir(repo, "sub") == ["real.yml"]
    assert list_dir(repo, "b.txt") is None


# ---- quoting


def test_excerpt() -> None:
    assert excerpt("short") == "short"
    assert excerpt("x" * 10_000) == "x" * 39 + "…"
    assert len(excerpt("x" * 10_000, 60)) == 60
    assert excerpt("two\nlines\x00") == "two\\nlines\\x00"
    assert excerpt(3.5) == "3.5"
    assert excerpt(None) == "None"
    nested: list[object] = ["x"]
    for _ in range(40):  # aliases of aliases: 9**40 items if printed whole
        nested = [nested] * 9
    assert len(excerpt(nested)) <= 40


def test_parser_message_keeps_the_position_and_cuts_quotes() -> None:
    toml = f"Cannot declare ('tool', '{'k' * 500}') twice (at line 3, column 1)"
    cut = parser_message(toml)
    assert cut.endswith("(at line 3, column 1)")
    assert len(cut) < 130
    yaml = f"found undefined alias '{'q' * 500}'\n  in \"<unicode string>\", line 1:\n  a: *qqq"
    assert parser_message(yaml) == f"found undefined alias '{'q' * 39}…'"
    assert parser_message("Invalid value (at end of document)") == (
        "Invalid value (at end of document)"
    )
