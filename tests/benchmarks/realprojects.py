"""Conveyor's zero configuration on real projects, beside a careful person's result (issue 11).

`tests/benchmarks/realprojects.toml` lists well-known Python projects pinned to commits, each with
the commands a careful person ran by hand (a fresh `python3 -m venv`, what the project's own CI
installs, its tests run as its CI runs them), that person's conclusion, test count and wall time
of install and test. This script runs `python -m app check <clone>` on each prepared clone and
prints, per project, the tests check's conclusion, its test count beside the person's count and
its time beside the person's time, then `green on N of M` over the projects the person got green
(with how many of those also match the person's count within ±1%).

Run by hand:

    .venv/bin/python tests/benchmarks/realprojects.py --projects /work/realprojects \
        [--mirrors /work/.mirror] [--only click,attrs] [--logs DIR] [--conveyor WORKTREE]

Each project's output goes to `--logs` (`<name>.log`, with its times in `<name>.json`);
`--again --logs DIR` prints the table again from them (after the list's person results changed)
without running anything. `--conveyor` runs another checkout of Conveyor (a `git worktree` of one
commit), so that edits in progress in this one do not disturb a long run.

Preparing the clones: `--projects` is a folder holding one clone per project, named as in the
list, checked out at the pinned commit. With `--mirrors`, a missing clone is made from a git
mirror `<mirrors>/<owner>+<name>/repo` (the layout the session's fetch tool makes) and checked out
at the pinned commit. Otherwise prepare each by hand:

    git clone https://github.com/<repo> <projects>/<name>
    git -C <projects>/<name> checkout <commit>

A clone at another commit is reported and skipped. Conveyor's caches go to a fresh folder for each
run of this script (`--cache-home` to keep them), so every project's run is a first run, as the
person's was (the person had pip's usual download cache). Counts are passed + failed + errors
(skipped left out), the person's read from pytest's last line (`Ran N tests` for unittest).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIST = Path(__file__).with_name("realprojects.toml")

# What app/report/terminal.py prints for each check: "<icon> <name>: <conclusion> — <title>".
CHECK_LINE = re.compile(
    r"^\S+ (?P<name>.+?): (?P<conclusion>success|failure|neutral|cancelled|timed_out|skipped"
    r"|action_required) — (?P<title>.*)$"
)
# The summary's counts line (app/report/summary.py `_counts`).
COUNTS_LINE = re.compile(
    r"\*\*(?P<passed>\d+)\*\* passed · \*\*(?P<failed>\d+)\*\* failed · "
    r"\*\*(?P<errors>\d+)\*\* errors · \*\*(?P<skipped>\d+)\*\* skipped"
)
NOT_TESTS = ("pre-commit",)


@dataclass(frozen=True)
class Project:
    name: str
    repo: str
    commit: str
    shape: str
    person: str
    conclusion: str
    tests: int | None
    seconds: float | None


@dataclass(frozen=True)
class Check:
    name: str
    conclusion: str
    title: str
    count: int | None
    seconds: float | None = None


@dataclass(frozen=True)
class Result:
    project: Project
    checks: tuple[Check, ...]
    seconds: float
    problem: str = ""

    @property
    def tests(self) -> Check | None:
        """The tests check: the one named `tests`, else the first that is not a linter's."""
        named = [c for c in self.checks if c.name == "tests"]
        others = [c for c in self.checks if c.name not in NOT_TESTS]
        counted = [c for c in others if c.count is not None]
        for candidates in (named, counted, others):
            if candidates:
                return candidates[0]
        return None


def load(path: Path) -> list[Project]:
    data = tomllib.loads(path.read_text())
    projects = []
    for name, entry in data["projects"].items():
        tests = entry.get("tests")
        seconds = entry.get("seconds")
        projects.append(
            Project(
                name=name,
                repo=str(entry["repo"]),
                commit=str(entry["commit"]),
                shape=str(entry.get("shape", "")),
                person=str(entry.get("person", "")),
                conclusion=str(entry.get("conclusion", "")),
                tests=int(tests) if tests is not None else None,
                seconds=float(seconds) if seconds is not None else None,
            )
        )
    return projects


def parse_checks(output: str) -> tuple[Check, ...]:
    """The checks `python -m app check` printed, each with the test count of its summary."""
    checks: list[Check] = []
    for line in output.splitlines():
        header = CHECK_LINE.match(line)
        if header:
            checks.append(Check(header["name"], header["conclusion"], header["title"], None))
            continue
        counts = COUNTS_LINE.search(line)
        if counts and checks and checks[-1].count is None:
            count = sum(int(counts[k]) for k in ("passed", "failed", "errors"))
            checks[-1] = replace(checks[-1], count=count)
    return tuple(checks)


def prepare(project: Project, projects: Path, mirrors: Path | None) -> str:
    """An empty string when the clone is ready at the pinned commit, else what is wrong."""
    clone = projects / project.name
    if not clone.is_dir():
        if mirrors is None:
            return "no clone (give --mirrors, or clone it by hand)"
        mirror = mirrors / project.repo.replace("/", "+") / "repo"
        if not mirror.is_dir():
            return f"no clone and no mirror at {mirror}"
        subprocess.run(["git", "clone", "-q", str(mirror), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "-q", project.commit], check=True)
    head = subprocess.run(
        ["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    if head != project.commit:
        return f"clone is at {head[:12]}, not the pinned {project.commit[:12]}"
    return ""


def run_check(
    project: Project, clone: Path, conveyor: Path, cache: Path, logs: Path, timeout: float
) -> Result:
    """Runs the check, timing each of its checks from the `==> name` line that starts it."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(conveyor)}
    started = time.monotonic()
    starts: list[tuple[str, float]] = []
    with tempfile.TemporaryFile("w+") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "check", str(clone)],
            cwd=conveyor,
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        )
        stopper = threading.Timer(timeout, process.kill)
        stopper.start()
        assert process.stderr is not None
        said = []
        for line in process.stderr:
            said.append(line.rstrip("\n"))
            if line.startswith("==> "):
                starts.append((line[4:].strip(), time.monotonic()))
        returncode = process.wait()
        stopper.cancel()
        stdout.seek(0)
        output = stdout.read() + "\n--- stderr ---\n" + "\n".join(said)
    ended = time.monotonic()
    if returncode < 0:
        problem = f"stopped after {timeout:.0f}s"
    else:
        # A crash of Conveyor itself: its last words say which.
        last = [line for line in said if line.strip()]
        problem = f"exit {returncode}: {last[-1][:80]}" if last else f"exit {returncode}"
    ends = [t for _, t in starts[1:]] + [ended]
    seconds = {name: end - start for (name, start), end in zip(starts, ends, strict=True)}
    (logs / f"{project.name}.log").write_text(output)
    times = {"total": ended - started, "checks": seconds, "problem": problem}
    (logs / f"{project.name}.json").write_text(json.dumps(times))
    result = from_logs(project, logs)
    assert result is not None  # both files were just written
    return result


def from_logs(project: Project, logs: Path) -> Result | None:
    """A project's result as its run left it in `logs` (None if it has not run)."""
    log, times = logs / f"{project.name}.log", logs / f"{project.name}.json"
    if not log.is_file() or not times.is_file():
        return None
    saved = json.loads(times.read_text())
    seconds = {str(k): float(v) for k, v in saved["checks"].items()}
    checks = tuple(replace(c, seconds=seconds.get(c.name)) for c in parse_checks(log.read_text()))
    return Result(project, checks, float(saved["total"]), str(saved["problem"]))


def within(count: int | None, expected: int | None) -> bool:
    if count is None or expected is None:
        return False
    return abs(count - expected) <= max(expected * 0.01, 0)


def tests_seconds(result: Result) -> float:
    """The tests check's own time when it was seen starting, else the whole run's."""
    tests = result.tests
    return tests.seconds if tests and tests.seconds is not None else result.seconds


def row(result: Result) -> str:
    p, tests = result.project, result.tests
    conclusion = tests.conclusion if tests else "no checks"
    count = str(tests.count) if tests and tests.count is not None else "-"
    person_count = str(p.tests) if p.tests is not None else "-"
    person_time = f"{p.seconds:.0f}s" if p.seconds is not None else "-"
    mark = "" if within(tests.count if tests else None, p.tests) else " ≠"
    said = [] if not tests or tests.conclusion == "success" else [f"“{tests.title[:60]}”"]
    said += [f"{c.name}={c.conclusion}" for c in result.checks if c is not tests]
    if not result.checks:
        said = [result.problem]
    return (
        f"{p.name:<16} {p.conclusion:<8} {conclusion:<9} {person_count:>6} {count:>6}{mark:<2} "
        f"{person_time:>6} {tests_seconds(result):>5.0f}s {result.seconds:>5.0f}s  "
        + "; ".join(said)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--projects", type=Path, required=True, help="folder of prepared clones")
    parser.add_argument("--mirrors", type=Path, help="git mirrors to make missing clones from")
    parser.add_argument("--only", default="", help="comma-separated project names")
    parser.add_argument("--list", type=Path, default=LIST, help="the projects' list (TOML)")
    parser.add_argument("--logs", type=Path, help="where each check's output goes")
    parser.add_argument(
        "--conveyor",
        type=Path,
        default=ROOT,
        help="the Conveyor checkout to run (e.g. a `git worktree` of one commit)",
    )
    parser.add_argument(
        "--again",
        action="store_true",
        help="print the table again from the outputs in --logs, running nothing",
    )
    parser.add_argument("--cache-home", type=Path, help="Conveyor's caches (default: fresh)")
    # Longer than a check's own default timeout (1800 s, install included) plus the pre-commit
    # check after it: a hung suite then ends as Conveyor's `timed_out` verdict, not as a run
    # this script killed with nothing printed (websockets did).
    parser.add_argument("--timeout", type=float, default=2400, help="seconds per project")
    args = parser.parse_args()

    projects = load(args.list)
    if args.only:
        wanted = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = wanted - {p.name for p in projects}
        if unknown:
            parser.error(f"not in {args.list}: {', '.join(sorted(unknown))}")
        projects = [p for p in projects if p.name in wanted]
    if args.again and not args.logs:
        parser.error("--again reads the outputs of an earlier run: give its --logs")
    logs = args.logs or Path(tempfile.mkdtemp(prefix="realprojects-logs-"))
    logs.mkdir(parents=True, exist_ok=True)
    cache = args.cache_home or Path(tempfile.mkdtemp(prefix="realprojects-cache-"))
    print(f"conveyor: {args.conveyor}  logs: {logs}  caches: {cache}", flush=True)
    print(
        f"{'project':<16} {'person':<8} {'conveyor':<9} {'count':>6} {'count':>6}   "
        f"{'time':>6} {'tests':>6} {'all':>6}  tests title when not green; other checks",
        flush=True,
    )
    results: list[Result] = []
    for project in projects:
        problem = "" if args.again else prepare(project, args.projects, args.mirrors)
        if problem:
            print(f"{project.name:<16} skipped: {problem}", flush=True)
            continue
        if args.again:
            result = from_logs(project, logs)
            if result is None:
                print(f"{project.name:<16} not run yet", flush=True)
                continue
        else:
            result = run_check(
                project, args.projects / project.name, args.conveyor, cache, logs, args.timeout
            )
        results.append(result)
        print(row(result), flush=True)

    person_green = [r for r in results if r.project.conclusion == "success"]
    green = [r for r in person_green if r.tests and r.tests.conclusion == "success"]
    counted = [r for r in green if within(r.tests.count if r.tests else None, r.project.tests)]
    faster = [
        r for r in green if r.project.seconds is not None and tests_seconds(r) <= r.project.seconds
    ]
    print(
        f"green on {len(green)} of {len(person_green)} where the person is green; "
        f"counts within ±1% on {len(counted)}; no slower than the person on {len(faster)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
