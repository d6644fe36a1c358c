"""One check's steps, supervised: interpreter, environment, tests, reports.

1. Pick the interpreter the check asks for (a missing one fails the check, naming those there are).
2. Get the environment: reuse the cached one for the same dependencies, or build it by running
   the install commands in the sandbox with the network on.
3. Run the test commands in the sandbox with the network off (unless the check asks for it),
   the environment read-only, pytest writing JUnit XML for each command.

What the commands see (paths, variables) is command_env.py's; what they leave behind is read by
run_outputs.py. app/suite/runner.py starts a check run and decides whether it runs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.report.junit import TestCase, TestResults
from app.report.model import Annotation
from app.report.output_counts import Counts, counts_from_output
from app.report.summary import SuiteOutcome
from app.report.tools import parse_tool_output
from app.suite.command_env import (
    HELPERS_FOLDER,
    IN_SANDBOX,
    INCOMPLETE,
    Paths,
    command_variables,
    pytest_settings,
)
from app.suite.egress import PORT, PROXY_VARIABLES, EgressProxy, describe_reached
from app.suite.environments import environment_key
from app.suite.package_index import UPSTREAM_PROXY_SETTINGS, without_credentials
from app.suite.plan import TOOL_ENVIRONMENTS, CheckSpec
from app.suite.planner import missing_python_message
from app.suite.pythons import Interpreter, choose
from app.suite.run_outputs import (
    ReportFolders,
    coverage_from_log,
    folder_size,
    is_regular_file,
    make_empty,
    named_junit_files,
    read_reports,
)
from app.suite.runlog import RunLog
from app.suite.sandbox import Egress, Mount, SandboxResult

if TYPE_CHECKING:  # the runner starts each check run with itself: what every check shares
    from app.suite.runner import Runner


PLUGIN_REFUSED = b'Error importing plugin "conveyor_pytest"'
TOOL_OUTPUT_LIMIT = 16 * 1024 * 1024  # what a linter's output is read up to


class CheckRun:
    """One check of one commit, step by step: the interpreter, the environment (reused or built
    by the install commands), the test commands, each in the sandbox, and the outcome."""

    def __init__(
        self,
        runner: Runner,
        spec: CheckSpec,
        repository: str,
        workspace: Path,
        artifacts: Path,
        log: RunLog,
        cancel: asyncio.Event | None,
        shared: Sequence[Mount],
        only_tests: tuple[str, ...],
        downloads: Path,
        throwaways: contextlib.AsyncExitStack | None,
        secrets: dict[str, str],
    ) -> None:
        self.runner = runner
        self.secrets = secrets
        self.shared = shared
        self.spec = spec
        self.repository = repository
        self.workspace = workspace
        self.artifacts = artifacts
        # What the job may write besides its workspace: reports. The run's log stays outside.
        self.out = artifacts / "out"
        # What the service gives the job (the tests to re-run): shown read-only.
        self.inputs = artifacts / "in"
        # The egress proxy's socket, for the commands that have the network.
        self.egress_folder = artifacts / "egress"
        # The test step's writable copy of the environments a tool run as itself keeps.
        self.tool_environments = artifacts / TOOL_ENVIRONMENTS
        self.tool_environments_copied = False
        self.egress: EgressProxy | None = None
        self.interpreter: Interpreter | None = None
        self.log = log
        self.cancel = cancel
        self.started = time.monotonic()
        self.about: list[str] = list(spec.explanation)
        isolated = runner.sandbox.mode != "none"
        self.downloads = downloads
        self.paths = (
            IN_SANDBOX
            if isolated
            else Paths(
                str(workspace),
                "",
                str(self.out),
                str(self.downloads),
                str(HELPERS_FOLDER),
                str(self.inputs),
            )
        )
        self.only_tests = only_tests
        # For an untrusted run: where what it builds is kept until the run ends.
        self.throwaways = throwaways
        self.plugin_refused = False
        # What the current command printed (for the tool parsers), and what they found.
        self.said = bytearray()
        self.tool_annotations: list[Annotation] = []
        self.tool_summaries: list[str] = []
        self.tool_results: list[TestCase] = []
        # Counts from the commands' last lines, for runs that leave no report (tox itself).
        self.counted: Counts | None = None
        # The install command that exited with an error, if one did.
        self.failed_install: str | None = None
        # The JUnit files each test command's pytest said it wrote (a project's own --junitxml).
        self.named_reports: dict[int, tuple[str, ...]] = {}

    def remaining(self) -> float:
        return self.spec.timeout - (time.monotonic() - self.started)

    def outcome(self, result: SandboxResult | None, **fields: object) -> SuiteOutcome:
        values: dict[str, object] = {
            "command": self.spec.test,
            "returncode": result.returncode if result else 1,
            "duration": time.monotonic() - self.started,
            "timed_out": bool(result and result.timed_out),
            "cancelled": bool(result and result.cancelled),
            "results": None,
            "log_tail": self.log.tail(),
            "about": tuple(self.about),
            "tool_annotations": tuple(self.tool_annotations),
            "tool_summaries": tuple(self.tool_summaries),
        }
        values.update(fields)
        return SuiteOutcome(**values)  # type: ignore[arg-type]

    async def run(self) -> SuiteOutcome:
        interpreter = choose(self.runner.interpreters, self.spec.python)
        if interpreter is None:
            wanted = self.spec.python or "(the default)"
            return self.outcome(
                None,
                stopped=f"Python {wanted} is not available",
                stopped_detail=missing_python_message(
                    wanted, [i.version for i in self.runner.interpreters]
                ),
            )
        self.about.append(f"Python {interpreter.version}")
        self.interpreter = interpreter
        async with contextlib.AsyncExitStack() as stack:
            if self.runner.sandbox.mode != "none":
                self.egress = await stack.enter_async_context(
                    EgressProxy(self.egress_folder, self.runner.egress, self.log.line)
                )
            env_folder, failure = await self.environment(interpreter, stack)
            if failure is not None:
                return failure
            assert env_folder is not None
            return await self.test(interpreter, env_folder)

    # -- the environment -------------------------------------------------------------------

    async def environment(
        self, interpreter: Interpreter, stack: contextlib.AsyncExitStack
    ) -> tuple[Path | None, SuiteOutcome | None]:
        """The environment's folder, or what went wrong building it. One built only in part
        serves this run from its build folder (removed when `stack` closes) and is not kept."""
        spec = self.spec
        # In a thread: the dependency files are hashed whole (up to 256 MB each).
        key = await asyncio.to_thread(
            environment_key,
            python=str(interpreter.executable),
            install=spec.install,
            env=spec.env,
            dependency_files=spec.dependency_files,
            project=self.workspace,
            # Without a sandbox the paths are real, and a virtualenv's paths are absolute.
            salt="" if self.runner.sandbox.mode != "none" else str(self.workspace),
        )
        cache = self.runner.environments
        found = cache.lookup(self.repository, key)
        if found is not None:
            self.about.append(f"Environment: reused (dependencies unchanged, key `{key[:12]}`)")
            self.log.section(f"Environment reused ({key[:12]}): dependencies unchanged")
            return found, None
        if self.throwaways is not None:
            folder = await self.throwaways.enter_async_context(cache.throwaway())
            failure = await self.install(
                interpreter, folder, " for this run only (a pull request from a fork)"
            )
            return (None, failure) if failure else (folder, None)
        async with contextlib.AsyncExitStack() as building:
            build = await building.enter_async_context(cache.building(self.repository, key))
            found = cache.lookup(self.repository, key)  # built meanwhile by another run
            if found is not None:
                self.about.append(f"Environment: reused (key `{key[:12]}`)")
                return found, None
            failure = await self.install(interpreter, build.folder)
            if failure is not None:
                return None, failure
            if is_regular_file(build.folder / INCOMPLETE):
                # Kept, it would stay without what was missing until the dependencies change.
                self.about.append("Environment: not kept (built only in part; see the log)")
                stack.push_async_callback(building.pop_all().aclose)  # removed after the run
                return build.folder, None
            return build.publish(), None

    async def install(
        self, interpreter: Interpreter, folder: Path, kept: str = ""
    ) -> SuiteOutcome | None:
        """Build the environment in `folder`; what went wrong, if anything. `kept` says for
        whom, when not for every later run."""
        built_in = time.monotonic()
        self.log.section("Installing (network on)")
        steps = list(self.spec.install)
        if await self.copy_venv_template(interpreter, folder):
            steps[:0] = self.upgrade_pip()
        else:
            steps[:0] = [" && ".join([self.create_venv(interpreter), *self.upgrade_pip()])]
        for step in steps:
            result = await self.sandboxed(
                step,
                folder,
                env_writable=True,
                network=True,
                extra=dict(self.install_env()),
            )
            if result.returncode != 0 or result.timed_out or result.cancelled:
                self.about.append("Environment: build failed")
                if result.returncode != 0 and not result.timed_out and not result.cancelled:
                    self.failed_install = step
                return self.outcome(
                    result,
                    stopped=_stopped_title("Install failed", result),
                    stopped_detail=f"`{step}` {_how_it_ended(result)}.",
                )
        seconds = time.monotonic() - built_in
        self.about.append(f"Environment: built in {seconds:.1f}s (new dependencies){kept}")
        return None

    def install_env(self) -> tuple[tuple[str, str], ...]:
        """The operator's way to the package index; without its credentials for code the
        repository's people did not write."""
        settings = self.runner.install_env
        if self.runner.sandbox.mode != "none":
            # The operator's proxies are the egress proxy's to use, not the commands'.
            settings = tuple((k, v) for k, v in settings if k not in UPSTREAM_PROXY_SETTINGS)
        if self.throwaways is not None:
            return without_credentials(settings)
        return settings

    def create_venv(self, interpreter: Interpreter) -> str:
        return f"{shlex.quote(str(interpreter.executable))} -m venv {self.venv}"

    def upgrade_pip(self) -> list[str]:
        if not any("--group" in command for command in self.spec.install):
            return []
        # `pip install --group` (PEP 735) needs pip 25.1 or newer.
        return [f"{self.venv}/bin/python -m pip install -q --upgrade 'pip>=25.1'"]

    @property
    def venv(self) -> str:
        return self.paths.venv if self.paths.env else "{env}/venv"

    async def copy_venv_template(self, interpreter: Interpreter, folder: Path) -> bool:
        """The interpreter's fresh venv copied into `folder` (see venv_templates.py), made once
        first if need be; False without a sandbox (each environment's venv is at another path)
        or when none could be made."""
        if not self.paths.env:
            return False

        async def make(building: Path) -> bool:
            command = f"{shlex.quote(str(interpreter.executable))} -I -m venv {self.venv}"
            self.log.line(f"$ {command}  (made once for every environment of this Python)")
            result = await self.runner.sandbox.run(
                command,
                mounts=[Mount(building, self.paths.env, writable=True)],
                cwd=self.paths.env,
                env={
                    "PATH": "/usr/local/bin:/usr/bin:/bin",
                    "HOME": self.paths.env,
                    "LANG": "C.UTF-8",
                },
                network=False,
                limits=self.runner.limits,
                timeout=max(self.remaining(), 0.1),
                on_output=self.log.write,
                cancel=self.cancel,
                interpreters=self.runner.interpreters,
            )
            return result.returncode == 0 and not result.timed_out and not result.cancelled

        copied = await self.runner.environments.venvs.copy_into(
            interpreter, self.venv, folder, make
        )
        if copied:
            self.log.line(f"(a fresh venv for Python {interpreter.version} at {self.venv})")
        return copied

    # -- the tests ----------------------------------------------------------------------------

    async def test(self, interpreter: Interpreter, env_folder: Path) -> SuiteOutcome:
        self.log.section("Testing" + (" (network on)" if self.spec.network else " (network off)"))
        if self.only_tests:
            # Into the folder the commands cannot write: the install commands ran already.
            # One id a line: an id with a line break (a test's name is the tests' to choose)
            # would select others; such a test runs only in a full run.
            selected = [node for node in self.only_tests if "\n" not in node and "\r" not in node]
            (self.inputs / "only.txt").write_text("\n".join(selected) + "\n")
            self.log.line(f"Only the {len(self.only_tests)} tests that failed before")
        if self.spec.tool_runs_itself and self.paths.env:
            await self.copy_tool_environments(env_folder)
        result: SandboxResult | None = None
        for index, command in enumerate(self.spec.test):
            result = await self.run_test_command(index, command, env_folder, plugin=True)
            if self.plugin_refused:
                # A tool between us and pytest (tox, nox) passed PYTEST_ADDOPTS but not
                # PYTHONPATH: run the command again without the plugin, JUnit XML only.
                self.plugin_refused = False
                self.log.line("(the pytest plugin could not be loaded here; again without it)")
                result = await self.run_test_command(index, command, env_folder, plugin=False)
            self.read_tool_output(command)
            printed = self.said.decode(errors="replace")
            self.named_reports[index] = named_junit_files(printed)
            said = counts_from_output(printed)
            if said is not None:
                self.counted = said if self.counted is None else self.counted + said
            if result.returncode != 0 or result.timed_out or result.cancelled or result.limit:
                break
        # In a thread: the reports are the tests' files, up to 64 MB each to parse.
        results, report_error, coverage = await asyncio.to_thread(
            read_reports,
            ReportFolders(self.out, self.paths.out, self.workspace, self.paths.src),
            len(self.spec.test),
            self.named_reports,
        )
        if results is None and self.tool_results:
            results = TestResults(tuple(self.tool_results))  # python -m unittest
        if coverage is None:
            coverage = coverage_from_log(self.log.tail())
        if result is not None and result.limit and not result.timed_out:
            return self.outcome(
                result,
                results=results,
                report_error=report_error,
                coverage=coverage,
                stopped=f"Stopped by the {result.limit}",
                stopped_detail=f"The tests hit the sandbox's {result.limit} and were stopped.",
            )
        return self.outcome(
            result,
            results=results,
            report_error=report_error,
            coverage=coverage,
            counted=self.counted,
        )

    def read_tool_output(self, command: str) -> None:
        """ruff, flake8, mypy, pre-commit or unittest output → annotations and results."""
        try:
            report = parse_tool_output(
                command, self.said.decode(errors="replace"), root=self.paths.src
            )
        except Exception as error:  # a reader's bug must not lose the verdict
            # The annotations are extra: the exit code still decides, and the log says why
            # there are none.
            self.log.line(f"(Conveyor could not read this output: {type(error).__name__}: {error})")
            return
        if report is None:
            return
        if report.results is not None:
            # unittest: the results are annotated like pytest's, at each failure's place.
            self.tool_results.extend(report.results.cases)
        else:
            self.tool_annotations.extend(report.annotations)
        if report.summary:
            self.tool_summaries.append(report.summary)

    async def copy_tool_environments(self, env_folder: Path) -> None:
        """tox, nox and hatch write into their environments as they run (the project installed
        again, locks, logs, temporary folders), and their venvs work only where they were built:
        the test step gets a copy at the same place, writable, which goes with the run, so the
        kept ones stay as the install step left them. Without a sandbox (mode `none`) the tool
        writes in the kept ones."""
        kept = env_folder / TOOL_ENVIRONMENTS
        if not kept.is_dir() or kept.is_symlink():
            return
        started = time.monotonic()
        copy = await asyncio.create_subprocess_exec(
            "cp", "-a", "--reflink=auto", "--", f"{kept}/.", f"{self.tool_environments}/"
        )
        if await copy.wait() != 0:
            self.log.line("(the kept environments could not be copied: the tool builds them)")
            make_empty(self.tool_environments)
            return
        self.tool_environments_copied = True
        size = await asyncio.to_thread(folder_size, self.tool_environments)
        self.log.line(
            f"(the tool's kept environments, copied for it to write: {size / 1e6:.0f} MB in "
            f"{time.monotonic() - started:.1f}s)"
        )

    async def run_test_command(
        self, index: int, command: str, env_folder: Path, *, plugin: bool
    ) -> SandboxResult:
        self.said = bytearray()  # what the tool parsers read: this command's output only
        return await self.sandboxed(
            command,
            env_folder,
            env_writable=False,
            network=self.spec.network,
            extra=pytest_settings(self.paths, index, plugin=plugin, only_tests=self.only_tests),
        )

    # -- the sandbox --------------------------------------------------------------------------

    async def sandboxed(
        self,
        command: str,
        env_folder: Path,
        *,
        env_writable: bool,
        network: bool,
        extra: dict[str, str] | None = None,
    ) -> SandboxResult:
        paths = self.paths
        if not paths.env:  # no sandbox: the environment is where it is
            paths = replace(paths, env=str(env_folder))
            command = command.replace("{env}", str(env_folder))
        self.downloads.mkdir(parents=True, exist_ok=True)
        mounts = [
            Mount(self.workspace, IN_SANDBOX.src, writable=True),
            Mount(env_folder, IN_SANDBOX.env, writable=env_writable),
            *(
                [Mount(self.tool_environments, f"{IN_SANDBOX.env}/{TOOL_ENVIRONMENTS}", True)]
                if self.tool_environments_copied and not env_writable
                else []
            ),
            Mount(self.out, IN_SANDBOX.out, writable=True),
            Mount(self.inputs, IN_SANDBOX.inputs),
        ]
        if env_writable or network:
            # The download caches, for whatever installs: the install step, and a test step with
            # the network (tox or nox run as themselves build their environments there). The
            # same code could write them in the install step; a fork's run has its own.
            mounts.append(Mount(self.downloads, IN_SANDBOX.cache, writable=True))
        mounts.append(Mount(HELPERS_FOLDER, IN_SANDBOX.helpers))
        mounts.extend(self.shared)
        self.log.line(f"$ {command}")

        def output(chunk: bytes) -> None:
            if PLUGIN_REFUSED in chunk:
                self.plugin_refused = True
            if len(self.said) < TOOL_OUTPUT_LIMIT:
                self.said += chunk
            self.log.write(chunk)

        variables = command_variables(
            paths,
            extra or {},
            isolated=self.runner.sandbox.mode != "none",
            check_env=self.spec.env,
            secrets=self.secrets,
        )
        egress = None
        if network and self.egress is not None and self.interpreter is not None:
            egress = Egress(self.egress.socket_path, PORT, str(self.interpreter.executable))
            variables.update(PROXY_VARIABLES)  # the one way out, whatever else was asked
        result = await self.runner.sandbox.run(
            command,
            mounts=mounts,
            cwd=paths.src,
            env=variables,
            network=network,
            limits=self.runner.limits,
            timeout=max(self.remaining(), 0.1),
            on_output=output,
            cancel=self.cancel,
            interpreters=self.runner.interpreters,
            egress=egress,
        )
        if self.egress is not None and (reached := self.egress.take_reached()):
            self.log.line(f"(network: {describe_reached(reached)})")
        return result


def _how_it_ended(result: SandboxResult) -> str:
    if result.timed_out:
        return "ran out of time"
    if result.cancelled:
        return "was cancelled"
    if result.limit:
        return f"was stopped by the {result.limit}"
    return f"exited with code {result.returncode}"


def _stopped_title(what: str, result: SandboxResult) -> str:
    return f"{what}: {result.limit}" if result.limit else what
