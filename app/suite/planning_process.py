"""Planning a commit in a child process, bounded in time and memory.

Planning reads and parses files the repository's author chose (`.conveyor.yml`, pyproject.toml,
tox.ini...). Done in the service, a parser's worst case (a YAML alias bomb, a 4 MB file of tiny
values, a nesting that recurses) blocks the event loop, so every webhook and `/healthz` waits,
and its memory is the service's. Here it runs in `python -m app.suite.planning_process` (one
process a commit), with an address-space limit (RLIMIT_AS) and a CPU limit, killed at a
wall-clock deadline; it prints the plan as JSON. Whatever stops it is a ConfigError naming the
file it was reading, which becomes the commit's failed check: never "an error inside Conveyor".

The child's environment is only what it needs (no secrets of the service's), and it tells the
parent on stderr which file it opens next (repository_files.reading), so that a kill names it.
The next child is started ahead, so the ~100 ms of a Python start and the planner's imports are
not on the way to a commit's first result (tests/benchmarks/planning.py measures it).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import resource
import signal
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import app
from app.suite import repository_files
from app.suite.plan import ConfigError, Plan, plan_from_json, plan_to_json

PLANNING_TIMEOUT = 20.0  # seconds of wall-clock time for a commit's plan
PLANNING_MEMORY = 512 * 1024 * 1024  # bytes of address space (the interpreter takes ~100 MB)
# The plan's JSON, at most: the configuration is at most 4 MiB (CONFIG_LIMIT).
MAX_OUTPUT = 64 * 1024 * 1024
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
_READING = "reading "  # a line on stderr: the file the child opens next
# Where the child finds `app`: the folder this service's `app` package is in.
_SOURCE_ROOT = str(Path(app.__file__).resolve().parent.parent)
# What the repository's files are called when the child did not say which it was reading.
_SOME_FILE = "the repository's files"
_BOMB = "Is it a YAML alias bomb, or a file far larger than a configuration needs to be?"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    timeout: float = PLANNING_TIMEOUT
    memory: int = PLANNING_MEMORY


class Planner:
    """Plans commits, each in a child process of its own that is never reused.

    One child is kept started ahead (the spare): it has imported the planner and set its limits,
    and waits for its one request on stdin. Python's start and the planner's imports (about
    80 ms on the 2-core development machine, more under load) are then paid while nothing
    waits for them, not on the way to a commit's first result. The spare exits when its stdin
    closes: `close`, or this process gone (and the kernel kills it then anyway).
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._spare: asyncio.Task[asyncio.subprocess.Process] | None = None

    async def plan(self, root: Path, available: Sequence[str]) -> Plan:
        """The plan of the checkout at `root`.

        ConfigError for a configuration the planner refused, and also when the child was
        stopped (time, memory) or failed in any other way, naming the file it was reading.
        """
        process = await self._take_spare() or await self._start()
        try:
            return await self._ask(process, root, available)
        finally:
            _kill(process.pid)  # whatever happened, it is done with (it starts nothing)
            # The next one starts once this answer is in: not competing with it for a core.
            self.prepare()

    def prepare(self) -> None:
        """Start the spare now (on a running event loop): the first commit need not wait."""
        if self._spare is None:
            self._spare = asyncio.ensure_future(self._start())

    def close(self) -> None:
        """Kill the spare without waiting for it to be gone. If its transport is collected
        before the child is reaped, asyncio warns of a leak (ResourceWarning): `aclose` waits."""
        spare, self._spare = self._spare, None
        if spare is None:
            return
        if spare.done() and not spare.cancelled() and spare.exception() is None:
            _kill(spare.result().pid)
        spare.cancel()

    async def aclose(self) -> None:
        """Kill the spare and wait until it is gone, its pipes closed with it."""
        spare, self._spare = self._spare, None
        if spare is None:
            return
        try:
            process = await spare  # one being started is done in ~100 ms: then killed
        except OSError:
            return
        _kill(process.pid)
        await process.wait()

    async def _take_spare(self) -> asyncio.subprocess.Process | None:
        spare, self._spare = self._spare, None
        if spare is None:
            return None
        try:
            process = await spare  # started already, or being started: sooner than anew
        except OSError:
            return None
        return process if process.returncode is None else None  # None: it died meanwhile

    async def _start(self) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.suite.planning_process",
            str(self.limits.memory),
            # CPU seconds: the wall-clock deadline comes first, unless the machine is idle.
            str(max(1, int(self.limits.timeout) + 1)),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_environment(),
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    async def _ask(
        self, process: asyncio.subprocess.Process, root: Path, available: Sequence[str]
    ) -> Plan:
        assert process.stdin is not None
        request = json.dumps({"root": str(root), "available": list(available)})
        stderr = _Tail()
        try:
            async with asyncio.timeout(self.limits.timeout):
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    process.stdin.write(request.encode() + b"\n")
                    await process.stdin.drain()
                    process.stdin.close()
                stdout = await _bounded(process, stderr)
        except TimeoutError:
            _kill(process.pid)
            await process.wait()
            raise ConfigError(
                _last_file(stderr.kept),
                None,
                f"planning took longer than {self.limits.timeout:.0f} s, so Conveyor stopped it. "
                f"{_BOMB}",
            ) from None
        return _result(process.returncode, stdout, stderr.kept, self.limits)


class _Tail:
    """The last bytes of the child's stderr (which file it read last, a traceback): kept here
    so that they are there also when the wait for the child is given up."""

    KEEP = 64 * 1024

    def __init__(self) -> None:
        self.kept = b""

    async def read(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(self.KEEP):
            self.kept = (self.kept + chunk)[-self.KEEP :]


async def _bounded(process: asyncio.subprocess.Process, stderr: _Tail) -> bytes:
    """The child's stdout, up to MAX_OUTPUT + 1 bytes: past that it is killed (nothing the
    planner prints is that long), and its answer refused."""
    assert process.stdout is not None
    assert process.stderr is not None
    errors = asyncio.ensure_future(stderr.read(process.stderr))
    parts: list[bytes] = []
    size = 0
    try:
        while size <= MAX_OUTPUT and (chunk := await process.stdout.read(1024 * 1024)):
            parts.append(chunk)
            size += len(chunk)
        if size > MAX_OUTPUT:
            _kill(process.pid)
        await errors
    finally:
        errors.cancel()
    await process.wait()
    return b"".join(parts)


def _result(returncode: int | None, stdout: bytes, stderr: bytes, bounds: Limits) -> Plan:
    reading = _last_file(stderr)
    if returncode == 0 and len(stdout) <= MAX_OUTPUT:
        try:
            answer = json.loads(stdout)
            if "plan" in answer:
                return plan_from_json(answer["plan"])
            error = answer["error"]
            raise ConfigError(error["path"], error["line"], error["message"])
        except (ValueError, KeyError, TypeError):
            pass  # not what the child prints: said below as a failure of planning
    if b"MemoryError" in stderr:
        raise ConfigError(
            reading,
            None,
            f"planning took more than {bounds.memory // (1024 * 1024)} MB of memory, so Conveyor "
            f"stopped it. {_BOMB}",
        )
    if returncode in (-signal.SIGKILL, -signal.SIGXCPU):
        raise ConfigError(
            reading,
            None,
            f"planning took longer than {bounds.timeout:.0f} s of CPU, so Conveyor stopped it. "
            f"{_BOMB}",
        )
    log.warning(
        "planning %s ended with %s:\n%s",
        reading,
        returncode,
        stderr.decode(errors="replace")[-4000:],
    )
    raise ConfigError(
        reading,
        None,
        f"Conveyor could not work out what to run from it (planning ended with "
        f"{_what_ended(returncode, stderr)}). Check that it is what its format expects; if "
        "it is, this is a bug in Conveyor: its operator finds the details in the service log.",
    )


def _last_file(stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").splitlines()
    named = [line.removeprefix(_READING) for line in lines if line.startswith(_READING)]
    return named[-1] if named else _SOME_FILE


def _what_ended(returncode: int | None, stderr: bytes) -> str:
    last = stderr.decode(errors="replace").strip().splitlines()
    if returncode is not None and returncode < 0:
        return f"signal {-returncode}"
    # The traceback's last line names the exception; only its type is shown, not the text
    # (which could quote the file).
    if last and ":" in last[-1] and not last[-1].startswith(_READING):
        return f"`{last[-1].split(':', 1)[0][:80]}`"
    return f"exit code {returncode}"


def _environment() -> dict[str, str]:
    """Only what Python needs: the service's own variables hold its secrets."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": _SOURCE_ROOT,
        "PYTHONDONTWRITEBYTECODE": "1",
        "LC_ALL": "C.UTF-8",
    }


def _die_with_parent() -> None:
    """In the child: killed by the kernel if the service dies (even with -9)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


# --------------------------------------------------------------------------------------------
# In the child


def _limit(memory: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # SIGXCPU at the soft limit (Python dies of it), SIGKILL a second later.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


def _tell_parent(relative: str) -> None:
    print(f"{_READING}{relative}", file=sys.stderr, flush=True)


def main(argv: Sequence[str]) -> int:
    memory, cpu = argv
    _limit(int(memory), int(cpu))
    # Imported after the limits, and before the request comes: the spare is ready when asked.
    from app.suite.planner import make_plan

    line = sys.stdin.readline()
    if not line:
        return 0  # closed without a request: the parent is done with it
    request = json.loads(line)
    repository_files.reading = _tell_parent
    answer: dict[str, Any]
    try:
        plan = make_plan(Path(request["root"]), request["available"])
        answer = {"plan": plan_to_json(plan)}
    except ConfigError as error:
        answer = {"error": {"path": error.path, "line": error.line, "message": error.message}}
    except MemoryError:
        print("MemoryError", file=sys.stderr, flush=True)
        return 3
    except Exception:
        # Which file, the parent knows from the last "reading" line; the traceback is for
        # the service log's reader (the parent logs it), never quoted to the repository.
        traceback.print_exc(limit=-8)
        return 2
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # The answer is out: the interpreter's tidy shutdown would only keep the parent waiting.
    os._exit(code)
