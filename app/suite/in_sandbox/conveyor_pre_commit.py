"""pre-commit, run so that hooks whose repositories cannot be fetched do not stop the others.

`python conveyor_pre_commit.py install-hooks` (install step, network on) runs `pre-commit
install-hooks`. When that fails, each hook repository is installed on its own: those that could
not be fetched because their host was unreachable are left out, and a config of the rest (local
and meta hooks, and every repository that could be fetched) is written beside pre-commit's own
store with what was left out, and the environment is marked incomplete (`CONVEYOR_INCOMPLETE`),
so that it serves this run and the next run tries again. A repository that was fetched but whose
hooks could not be installed fails the install, as pre-commit itself would.

Local hooks that run `uv run …` (typer's, FastAPI's ruff and mypy) need the project's own
environment, which a person's machine has: with a uv.lock, the install syncs it (`uv sync
--frozen`) beside pre-commit's, and the hooks' uv finds it there, offline and frozen.

The install also puts this wrapper in place of the environment's `pre-commit` command, so that
the test step runs, and the check shows, `pre-commit run ...` as a person would type it; any other
subcommand goes to pre-commit itself.

`python conveyor_pre_commit.py run ARGS` (test step, network off) is `pre-commit run ARGS`; when
hooks were left out it says so first, in the line app/report/tools/precommit.py reads for the
check's title ("conveyor: pre-commit hooks could not be fetched: github.com unreachable"), runs
the hooks that are there, and fails whatever they say: hooks that did not run did not pass.

Runs in the project's environment, on the Python pre-commit runs on: the standard library and
PyYAML (a dependency of pre-commit) only, nothing of Conveyor's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

CONFIG = ".pre-commit-config.yaml"
UV_LOCK = "uv.lock"
# check-hooks-apply reads every hook's manifest, which is in the repositories not fetched.
NEEDS_EVERY_REPOSITORY = ("check-hooks-apply",)
# What git (and ssh) print when the host cannot be reached, as opposed to a repository or revision
# that does not exist or a hook environment that does not build.
_UNREACHABLE = re.compile(
    r"Could not resolve host|Could not resolve hostname|unable to access|Failed to connect"
    r"|CONNECT tunnel failed|Connection refused|Connection timed out|Network is unreachable"
    r"|Temporary failure in name resolution|Name or service not known",
)
SAID = "conveyor: pre-commit hooks could not be fetched:"


def main(argv: list[str]) -> int:
    uses_uv = runs_uv() and os.path.isfile(UV_LOCK)
    if uses_uv:
        os.environ.update(uv_project_settings(offline=argv[:1] != ["install-hooks"]))
    if argv[:1] == ["install-hooks"]:
        in_place()
        if uses_uv:
            sync_project()
        return install_hooks(Path(os.environ["PRE_COMMIT_HOME"]))
    if argv[:1] == ["run"]:
        return run(Path(os.environ["PRE_COMMIT_HOME"]), argv[1:])
    return pre_commit(*argv).returncode


def runs_uv() -> bool:
    """Whether a local hook's entry is `uv run …`."""
    try:
        with open(CONFIG, encoding="utf-8") as file:
            config = yaml.safe_load(file)
        repos = [r for r in config["repos"] if isinstance(r, dict) and r.get("repo") == "local"]
    except Exception:  # pre-commit says what is wrong with the config
        return False
    return any(
        str(hook.get("entry", "")).split()[:2] == ["uv", "run"]
        for repo in repos
        for hook in repo.get("hooks") or ()
        if isinstance(hook, dict)
    )


def uv_project_settings(*, offline: bool) -> dict[str, str]:
    """Where the project's environment is (beside pre-commit's, cached with it), on this
    Python, never downloading one; in the test step, offline and as locked."""
    settings = {
        "UV_PROJECT_ENVIRONMENT": str(Path(os.environ["VIRTUAL_ENV"]).parent / "uv-project"),
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_SYSTEM_CERTS": "1",
    }
    if offline:
        settings.update(UV_OFFLINE="1", UV_FROZEN="1")
    return settings


def sync_project() -> None:
    """uv, and the project's locked environment for the hooks that `uv run`. When it cannot be
    made, those hooks fail saying why, and the environment is not kept (the next run tries
    again)."""
    steps = (
        [sys.executable, "-m", "pip", "install", "-q", "uv"],
        [str(Path(sys.executable).with_name("uv")), "sync", "--frozen"],
    )
    print("conveyor: local hooks run `uv run`: syncing the project's environment from uv.lock")
    for step in steps:
        if subprocess.run(step).returncode != 0:
            print("conveyor: the project's environment could not be made (above)")
            Path(os.environ["CONVEYOR_INCOMPLETE"]).write_text("uv sync failed\n")
            return


def in_place() -> None:
    """The environment's `pre-commit` command runs this wrapper (pre-commit itself is run as
    `python -m pre_commit`, so it is still there behind it)."""
    command = Path(sys.executable).parent / "pre-commit"
    command.unlink(missing_ok=True)
    command.write_text(
        "#!/bin/sh\n"
        "# Conveyor's pre-commit: hooks whose repositories cannot be fetched are left out and\n"
        "# named, the others still run (app/suite/in_sandbox/conveyor_pre_commit.py).\n"
        f'exec "{sys.executable}" "$CONVEYOR_HELPERS/conveyor_pre_commit.py" "$@"\n'
    )
    command.chmod(0o755)


def pre_commit(*arguments: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *arguments],
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
        text=True,
        errors="replace",
        check=False,
    )


def install_hooks(home: Path) -> int:
    whole = pre_commit("install-hooks")
    if whole.returncode == 0:
        return 0
    try:
        with open(CONFIG, encoding="utf-8") as file:
            config = yaml.safe_load(file)
        repos = list(config["repos"])
    except Exception:  # pre-commit said what is wrong with the config
        return whole.returncode
    print("conveyor: installing each hook repository on its own, to find which failed")
    ours = home / "conveyor"
    ours.mkdir(parents=True, exist_ok=True)
    kept, missing = [], []
    for number, repo in enumerate(repos):
        if not isinstance(repo, dict) or repo.get("repo") in ("local", "meta"):
            kept.append(repo)
            continue
        alone = _write(ours / f"repository-{number}.yaml", {**config, "repos": [repo]})
        tried = pre_commit("install-hooks", "--config", str(alone), capture=True)
        if tried.returncode == 0:
            kept.append(repo)
        elif _UNREACHABLE.search(tried.stdout):
            missing.append({"repo": str(repo.get("repo")), "rev": str(repo.get("rev", ""))})
            missing[-1]["hooks"] = ", ".join(_hook_ids(repo))
            missing[-1]["host"] = host_of(str(repo.get("repo")))
        else:
            print(tried.stdout, end="")
            print(f"conveyor: the hooks of {repo.get('repo')} could not be installed (above)")
            return tried.returncode
    if not missing:
        return whole.returncode  # it failed, yet each part alone installs: say what it said
    kept = [_without_needing_every_repository(repo) for repo in kept]
    rest = _write(ours / "fetched.yaml", {**config, "repos": [r for r in kept if r is not None]})
    if pre_commit("install-hooks", "--config", str(rest)).returncode != 0:
        print("conveyor: the hooks that could be fetched could not be installed (above)")
        return 1
    (ours / "missing.json").write_text(json.dumps(missing))
    Path(os.environ["CONVEYOR_INCOMPLETE"]).write_text("pre-commit hooks not fetched\n")
    print(f"{SAID} {unreachable(missing)}")
    return 0


def run(home: Path, arguments: list[str]) -> int:
    ours = home / "conveyor"
    try:
        missing = json.loads((ours / "missing.json").read_text())
    except FileNotFoundError:
        return pre_commit("run", *arguments).returncode
    print(f"{SAID} {unreachable(missing)}")
    for repo in missing:
        rev = f" {repo['rev']}" if repo["rev"] else ""
        print(f"conveyor:   {repo['repo']}{rev}, not run: {repo['hooks']}")
    left_out = ", ".join(NEEDS_EVERY_REPOSITORY)
    print(f"conveyor: running the other hooks ({left_out} left out: it needs every repository)")
    ran = pre_commit("run", "--config", str(ours / "fetched.yaml"), *arguments)
    return ran.returncode or 1


def unreachable(missing: list[dict[str, str]]) -> str:
    return ", ".join(sorted({repo["host"] for repo in missing})) + " unreachable"


def host_of(url: str) -> str:
    """github.com of https://github.com/psf/black and of git@github.com:psf/black."""
    if "://" in url:
        return urlsplit(url).hostname or url
    if re.match(r"^[\w.-]+@[\w.-]+:", url):
        return url.split("@", 1)[1].split(":", 1)[0]
    return url


def _hook_ids(repo: dict[str, object]) -> list[str]:
    hooks = repo.get("hooks")
    if not isinstance(hooks, list):
        return []
    return [str(hook.get("id")) for hook in hooks if isinstance(hook, dict)]


def _without_needing_every_repository(repo: object) -> object:
    if not isinstance(repo, dict) or repo.get("repo") != "meta":
        return repo
    hooks = [h for h in repo.get("hooks", []) if h.get("id") not in NEEDS_EVERY_REPOSITORY]
    return {**repo, "hooks": hooks} if hooks else None


def _write(path: Path, config: dict[str, object]) -> Path:
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
