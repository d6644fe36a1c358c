"""Which of a project's extras bring the modules its tests import.

When the project's CI does not say which extras its tests run with, the tests themselves do: a
test that imports `yaml` while only the extra `yaml = ["pyyaml"]` brings it fails collection
with ModuleNotFoundError unless that extra is installed. Module names are matched to requirement
names the way they usually correspond (`pyyaml` → `yaml`, `python-dateutil` → `dateutil`, a few
well-known others); a module one of the base dependencies brings needs no extra.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from app.suite.dependencies import extras, requirement_names
from app.suite.plan import CheckSpec
from app.suite.project import read_project, table
from app.suite.recipe import PIP_INSTALL, pip_install
from app.suite.repository_files import TEST_FILE_LIMIT, UnreadableFile, read_text

_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.MULTILINE)
_MAX_FILES = 200
# Distributions whose module is not named after them (normalized name → module).
_KNOWN = {
    "pillow": "PIL",
    "beautifulsoup4": "bs4",
    "scikit-learn": "sklearn",
    "scikit-image": "skimage",
    "opencv-python": "cv2",
    "attrs": "attr",
    "protobuf": "google",
    "pyzmq": "zmq",
    "pyjwt": "jwt",
    "msgpack-python": "msgpack",
    "python-multipart": "multipart",
    "email-validator": "email_validator",
    "typing-extensions": "typing_extensions",
    "pyserial": "serial",
    "pygobject": "gi",
}


def module_of(requirement: str) -> set[str]:
    """The module names a distribution (normalized name) is likely to provide."""
    names = {_KNOWN.get(requirement, requirement.replace("-", "_"))}
    for prefix in ("python-", "python_", "py"):  # the longest first: python-x is x, not thon_x
        if requirement.startswith(prefix) and len(requirement) > len(prefix) + 1:
            names.add(requirement.removeprefix(prefix).replace("-", "_"))
            break
    return names


def extra_for_module(
    module: str, extras: Mapping[str, Sequence[str]], base: Sequence[str] = ()
) -> str | None:
    """The extra whose requirements bring `module`, None when none or a base dependency does."""
    if any(module in module_of(name) for name in requirement_names(base)):
        return None
    for extra, requirements in extras.items():
        if any(module in module_of(name) for name in requirement_names(requirements)):
            return extra
    return None


def extras_the_tests_import(
    root: Path,
    test_files: Sequence[str],
    extras: Mapping[str, Sequence[str]],
    base: Sequence[str] = (),
) -> tuple[str, ...]:
    """The extras that bring a module some test file imports, in the order first imported."""
    found: list[str] = []
    for module in _imported(root, test_files):
        if module in sys.stdlib_module_names:
            continue
        extra = extra_for_module(module, extras, base)
        if extra is not None:
            found.append(extra)
    return tuple(dict.fromkeys(found))


def _imported(root: Path, test_files: Sequence[str]) -> list[str]:
    modules: list[str] = []
    for relative in [*test_files[:_MAX_FILES], "conftest.py", "tests/conftest.py"]:
        try:
            text = read_text(root, relative, limit=TEST_FILE_LIMIT)
        except UnreadableFile:
            continue
        modules += _IMPORT.findall(text or "")
    return list(dict.fromkeys(modules))


_MISSING = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")


def retry_with_extra(spec: CheckSpec, root: Path, output: str) -> CheckSpec | None:
    """The check once more with the extra that brings the module a failed import names
    (`ModuleNotFoundError: No module named 'yaml'` in the tests' output), when the check
    installs the project itself with pip and that extra is not installed yet; else None.

    For the runner, after a test step that failed: one retry, said in the summary."""
    found = _MISSING.search(output)
    if found is None:
        return None
    module = found.group(1).split(".")[0]
    project = read_project(root)
    base = table(project.pyproject, "project").get("dependencies", [])
    extra = extra_for_module(
        module,
        extras(project),
        [b for b in base if isinstance(b, str)] if isinstance(base, list) else [],
    )
    if extra is None:
        return None
    install = list(spec.install)
    for index, command in enumerate(install):
        if not command.startswith(PIP_INSTALL + " "):
            continue
        args = shlex.split(command[len(PIP_INSTALL) + 1 :])
        for position, arg in enumerate(args):
            target = arg.split("[")[0]
            if target != ".":
                continue
            have = [e for e in arg.partition("[")[2].rstrip("]").split(",") if e]
            if extra in have:
                return None  # installed already: the module must come from elsewhere
            args[position] = f".[{','.join([*have, extra])}]"
            install[index] = pip_install(args)
            line = (
                f"The tests could not import `{module}`, which the project's extra `{extra}` "
                f"brings: installed with it and run again."
            )
            explanation = (*spec.explanation[:-1], line, *spec.explanation[-1:])
            return replace(spec, install=tuple(install), explanation=explanation)
    return None
