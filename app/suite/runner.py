"""Run one check of a checked-out project: interpreter, environment, tests, reports.

1. Pick the interpreter the check asks for (a missing one fails the check, naming those there are).
2. Get the environment: reuse the cached one for the same dependencies, or build it by running
   the install commands in the sandbox with the network on.
3. Run the test commands in the sandbox with the network off (unless the check asks for it),
   the environment read-only, pytest writing JUnit XML for each command.

Inside the sandbox the paths never change (`/conveyor/src`, `/conveyor/env`...), which is what
lets a virtualenv built by one run serve the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import posixpath
import re
import shlex
import shutil
import stat
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from app.report.junit import (
    MAX_REPORT_BYTES,
    ReportError,
    TestCase,
    TestResults,
    parse_junit_bytes,
)
from app.report.model import Annotation
from app.report.output_counts import Counts, counts_from_output
from app.report.pytest_report import parse_pytest_report
from app.report.summary import SuiteOutcome
from app.report.tools import parse_tool_output
from app.suite.egress import PORT, PROXY_VARIABLES, EgressPolicy, EgressProxy, describe_reached
from app.suite.environments import EnvironmentCache, environment_key
from app.suite.extras import retry_with_extra
from app.suite.from_checkout import from_checkout
from app.suite.plan import TOOL_ENVIRONMENTS, CheckSpec
from app.suite.planner import missing_python_message
from app.suite.pythons import Interpreter, choose
from app.suite.repository_files import UnreadableFile, read_bytes
from app.suite.runlog import RunLog
from app.suite.sandbox import Egress, Limits, Mount, Sandbox, SandboxResult


@dataclass(frozen=True)
class Paths:
    """Where the project, its environment and the reports are, as the commands see them."""

    src: str
    env: str
    out: str
    cache: str
    helpers: str = "/conveyor/helpers"  # app/suite/in_sandbox: read-only
    inputs: str = "/conveyor/in"  # what the service gives the commands: read-only

    @property
    def venv(self) -> str:
        return f"{self.env}/venv"


IN_SANDBOX = Paths("/conveyor/src", "/conveyor/env", "/conveyor/out", "/conveyor/cache")
# What runs inside the sandbox in the project's environment (not a package of `app`): the pytest
# plugin that reports places from pytest's own tracebacks, the pre-commit wrapper.
HELPERS_FOLDER = Path(__file__).resolve().parent / "in_sandbox"
PLUGIN_REFUSED = b'Error importing plugin "conveyor_pytest"'
# What an install leaves at the top of the environment when it could do only part of its work
# (pre-commit hooks whose repositories could not be fetched): the environment serves this run
# and is not kept, so the next run tries again.
INCOMPLETE = "incomplete"
TOOL_OUTPUT_LIMIT = 16 * 1024 * 1024  # what a linter's output is read up to

# The operator's way to the package index (a mirror, a proxy, a company CA), handed to the install
# commands and to nothing else. File paths must be under /etc or /usr to be seen in the sandbox.
PACKAGE_INDEX_SETTINGS = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "PIP_CERT",
    "PIP_DEFAULT_TIMEOUT",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)


UPSTREAM_PROXY_SETTINGS = frozenset(
    ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
)


def package_index_settings(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((name, environ[name]) for name in PACKAGE_INDEX_SETTINGS if environ.get(name))


def index_credentials(settings: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """The credentials in the settings' URLs (`https://user:password@host/...`), as they may
    be printed (pip echoes the index URL): the `user:password` part and the password, both
    as written and decoded. Every run's log masks them."""
    found: list[str] = []
    for _, value in settings:
        for word in value.split():
            userinfo = _userinfo(word)
            if userinfo is None:
                continue
            _, _, password = userinfo.partition(":")
            for secret in (userinfo, password):
                found += [secret, unquote(secret)]
    return tuple(dict.fromkeys(secret for secret in found if secret))


def without_credentials(settings: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The settings with the credentials taken out of their URLs: what untrusted code gets. A
    private index that needs them cannot be reached by it; the public one can."""
    cleaned = []
    for name, value in settings:
        words = []
        for word in value.split():
            userinfo = _userinfo(word)
            words.append(word if userinfo is None else word.replace(userinfo + "@", "", 1))
        cleaned.append((name, " ".join(words)))
    return tuple(cleaned)


def _userinfo(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc:
        return None
    return parts.netloc.rpartition("@")[0]


@dataclass(frozen=True)
class Runner:
    """What every check of the service shares: the sandbox, interpreters, caches, limits."""

    sandbox: Sandbox
    interpreters: tuple[Interpreter, ...]
    environments: EnvironmentCache
    downloads: Path  # per-repository pip caches: downloads are not the environment
    limits: Limits = field(default_factory=Limits)
    install_env: tuple[tuple[str, str], ...] = ()
    # What network-on commands may reach besides the internet, and the operator's proxies.
    egress: EgressPolicy = field(default_factory=EgressPolicy)

    async def run(
        self,
        spec: CheckSpec,
        *,
        repository: str,
        workspace: Path,
        artifacts: Path,
        log: RunLog,
        cancel: asyncio.Event | None = None,
        shared: Sequence[Mount] = (),
        only_tests: tuple[str, ...] = (),
        trusted: bool = True,
        secrets: Mapping[str, str] | None = None,
        detected: bool = False,
    ) -> SuiteOutcome:
        """`shared`: read-only folders the project needs as they are (its git objects);
        `only_tests`: pytest node ids, to re-run just those; not `trusted` (a fork's pull
        request): what its installs download and build is used by this run alone, and the
        package index is reached without the operator's credentials; `secrets`: variables for
        the commands, which never decide anything else (the environment's key, say);
        `detected`: the check is Conveyor's guess, not the repository's own words, so a test
        step that fails importing a module one of the project's extras brings is run once more
        with that extra installed (app/suite/extras.py), and the summary says so.

        `artifacts/in` and `artifacts/out` are made empty for the run and removed after it: the
        commands may plant anything in `out` (a link to a host file, say), so nothing of an
        earlier attempt is read and nothing the service writes ever goes there."""
        folders = (
            artifacts / "in",
            artifacts / "out",
            artifacts / "egress",
            artifacts / TOOL_ENVIRONMENTS,
        )
        for folder in folders:
            _empty(folder)
        try:
            async with contextlib.AsyncExitStack() as throwaways:
                downloads = self.downloads / repository
                if not trusted:
                    downloads = await throwaways.enter_async_context(self.environments.throwaway())

                def check(spec: CheckSpec) -> _CheckRun:
                    return _CheckRun(
                        self,
                        spec,
                        repository,
                        workspace,
                        artifacts,
                        log,
                        cancel,
                        shared,
                        only_tests,
                        downloads,
                        None if trusted else throwaways,
                        dict(secrets or {}),
                    )

                first = check(spec)
                outcome = await first.run()
                if not detected:
                    return outcome
                again = await asyncio.to_thread(_second_try, spec, workspace, first, outcome)
                if again is None:
                    return outcome
                why, second = again
                log.section(f"Again, {why}")
                for folder in folders:
                    _empty(folder)
                return await check(second).run()
        finally:
            for folder in folders:
                shutil.rmtree(folder, ignore_errors=True)


class _CheckRun:
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
            if _is_file(build.folder / INCOMPLETE):
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
        for step in [self.create_venv(interpreter), *self.spec.install]:
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
        venv = self.paths.venv if self.paths.env else "{env}/venv"
        upgrade = any("--group" in command for command in self.spec.install)
        command = f"{shlex.quote(str(interpreter.executable))} -m venv {venv}"
        if upgrade:
            # `pip install --group` (PEP 735) needs pip 25.1 or newer.
            command += f" && {venv}/bin/python -m pip install -q --upgrade 'pip>=25.1'"
        return command

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
            self.named_reports[index] = _named_junit_files(printed)
            said = counts_from_output(printed)
            if said is not None:
                self.counted = said if self.counted is None else self.counted + said
            if result.returncode != 0 or result.timed_out or result.cancelled or result.limit:
                break
        # In a thread: the reports are the tests' files, up to 64 MB each to parse.
        results, report_error, coverage = await asyncio.to_thread(self.reports)
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
            _empty(self.tool_environments)
            return
        self.tool_environments_copied = True
        size = await asyncio.to_thread(_size, self.tool_environments)
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
            extra=self.pytest_settings(index, plugin=plugin),
        )

    def pytest_settings(self, index: int, *, plugin: bool) -> dict[str, str]:
        """What makes any pytest the commands start report to us: JUnit XML always, and the
        plugin's report (places from pytest's own traceback, coverage, re-run selection)."""
        out = self.paths.out
        options = f"--junitxml={out}/junit-{index}.xml -o junit_family=xunit1"
        settings = {"PYTEST_ADDOPTS": options}
        if plugin:
            settings.update(
                PYTEST_ADDOPTS=f"{options} -p conveyor_pytest",
                PYTHONPATH=self.paths.helpers,
                CONVEYOR_REPORT=f"{out}/pytest-{index}.jsonl",
                CONVEYOR_ROOT=self.paths.src,
            )
            if self.only_tests:
                settings["CONVEYOR_ONLY"] = f"{self.paths.inputs}/only.txt"
        # tox 4 passes its environments only the variables they name: these reach a pytest that
        # tox itself runs (tox 4.11 and later read this; earlier ones say so and go on).
        settings["TOX_OVERRIDE"] = "testenv.pass_env+=" + ",".join(sorted(settings))
        return settings

    def reports(self) -> tuple[TestResults | None, str | None, float | None]:
        """The plugin's report where there is one, else the JUnit XML; and coverage."""
        cases: list[TestCase] = []
        coverage: float | None = None
        any_report = False
        for index in range(len(self.spec.test)):
            plugin, junit = self.out / f"pytest-{index}.jsonl", self.out / f"junit-{index}.xml"
            try:
                if _present(plugin):
                    data = read_untrusted(plugin, MAX_REPORT_BYTES)
                    report = parse_pytest_report(data, plugin.name)
                    if report.results.cases:
                        cases.extend(report.results.cases)
                        if report.coverage is not None:
                            coverage = report.coverage
                        any_report = True
                        continue
                if _present(junit):
                    data = read_untrusted(junit, MAX_REPORT_BYTES)
                    cases.extend(parse_junit_bytes(data, junit.name).cases)
                    any_report = True
                for name, data in self.named_junit(index):
                    cases.extend(parse_junit_bytes(data, name).cases)
                    any_report = True
            except ReportError as error:
                return None, str(error), coverage
        return (TestResults(tuple(cases)) if any_report else None), None, coverage

    def named_junit(self, index: int) -> list[tuple[str, bytes]]:
        """The JUnit files other than ours that the command's pytest runs said they wrote
        (`--junitxml` of the project's own, which wins over ours): read as the repository's
        files are, so that a link planted there leads nowhere outside."""
        found: list[tuple[str, bytes]] = []
        roots = ((self.paths.src, self.workspace), (self.paths.out, self.out))
        ours = posixpath.join(self.paths.out, f"junit-{index}.xml")
        for named in dict.fromkeys(self.named_reports.get(index, ())):
            path = posixpath.normpath(named)
            if path == ours:
                continue  # read above
            for shown, root in roots:
                if not path.startswith(shown.rstrip("/") + "/"):
                    continue
                relative = path[len(shown.rstrip("/")) + 1 :]
                try:
                    data = read_bytes(root, relative, limit=MAX_REPORT_BYTES)
                except UnreadableFile:
                    data = None  # a link out of the checkout, a FIFO: not a report
                if data is not None:
                    found.append((relative, data))
                break
        return found

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

        variables = self.environment_variables(paths, extra or {})
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

    def environment_variables(self, paths: Paths, extra: dict[str, str]) -> dict[str, str]:
        """Everything the commands see: nothing of the service's own environment."""
        variables = {
            "PATH": f"{paths.venv}/bin:/usr/local/bin:/usr/bin:/bin",
            "VIRTUAL_ENV": paths.venv,
            "HOME": "/conveyor/home" if self.runner.sandbox.mode != "none" else paths.src,
            "LANG": "C.UTF-8",
            "CI": "true",
            "CONVEYOR": "true",
            "PYTHONUNBUFFERED": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_CACHE_DIR": f"{paths.cache}/pip",
            "PIP_PROGRESS_BAR": "off",
            "PRE_COMMIT_HOME": f"{paths.env}/pre-commit",
            "CONVEYOR_HELPERS": paths.helpers,
            "CONVEYOR_INCOMPLETE": f"{paths.env}/{INCOMPLETE}",
            "CONVEYOR_TOOL_ENVIRONMENTS": f"{paths.env}/{TOOL_ENVIRONMENTS}",
        }
        variables.update(dict(self.spec.env))
        variables.update(self.secrets)
        for name, value in extra.items():
            previous = variables.get(name)
            joiner = ":" if name == "PYTHONPATH" else " "
            variables[name] = f"{previous}{joiner}{value}" if previous else value
        return variables


def _size(folder: Path) -> int:
    total = 0
    for _top, _, files, top_fd in os.fwalk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(name, dir_fd=top_fd, follow_symlinks=False).st_size
    return total


def _second_try(
    spec: CheckSpec, workspace: Path, first: _CheckRun, outcome: SuiteOutcome
) -> tuple[str, CheckSpec] | None:
    """Why and how a detected check runs once more, if it does: from the checkout when the
    project itself could not be installed, with an extra when the tests could not import what
    it brings."""
    if first.failed_install is not None:
        found = from_checkout(spec, workspace, first.failed_install)
        return (
            None if found is None else ("from the checkout (the project was not installed)", found)
        )
    if _failed_in_tests(outcome):
        said = first.said.decode(errors="replace")
        found = retry_with_extra(spec, workspace, said)
        return (
            None if found is None else ("with the extra that brings what the tests import", found)
        )
    return None


def _failed_in_tests(outcome: SuiteOutcome) -> bool:
    """The test commands ran and failed: not stopped before them, by a limit or by time."""
    return (
        outcome.returncode != 0
        and outcome.stopped is None
        and not outcome.timed_out
        and not outcome.cancelled
    )


def _empty(folder: Path) -> None:
    """`folder` made anew and empty (rmtree never follows the links a run left in it)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def _is_file(path: Path) -> bool:
    """A real file (a link the install commands planted there does not count)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _present(path: Path) -> bool:
    return path.exists() or path.is_symlink()


# pytest's terminal line after it wrote a JUnit file: "----- generated xml file: /path.xml -----".
_GENERATED_XML = re.compile(r"^-+ generated xml file: (?P<path>/.+?) -+\s*$", re.MULTILINE)


def _named_junit_files(printed: str) -> tuple[str, ...]:
    return tuple(found["path"] for found in _GENERATED_XML.finditer(printed))


def coverage_from_log(log: str) -> float | None:
    """coverage.py's `TOTAL ... 87%` line, when coverage ran without the plugin seeing it."""
    found = re.findall(r"^TOTAL\s+.*?(\d+(?:\.\d+)?)%\s*$", log, flags=re.MULTILINE)
    return float(found[-1]) if found else None


def read_untrusted(path: Path, limit: int) -> bytes:
    """A file the job wrote: not through a symlink, not a FIFO, not more than `limit` bytes."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise ReportError(f"{path.name}: cannot be read ({error.strerror})") from None
    with os.fdopen(descriptor, "rb") as report:
        if not stat.S_ISREG(os.fstat(report.fileno()).st_mode):
            raise ReportError(f"{path.name}: not a regular file")
        data = report.read(limit + 1)
    if len(data) > limit:
        raise ReportError(f"{path.name}: more than {limit} bytes")
    return data


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


__all__: Sequence[str] = ("IN_SANDBOX", "Paths", "Runner")
