"""When the project itself cannot be installed, its tests run from the checkout.

A detected check installs the project (`pip install -e '.[test]'`) so that its tests import it as
its users would. When that install fails, because the build backend fails or the build needs what
cannot be fetched, the tests can usually still run: the dependencies `pyproject.toml` declares
are installed by name and the package is imported from the checkout (`src` on PYTHONPATH for a
src layout, the root otherwise), which is what a person does by hand. Only with static
metadata: dependencies a build computes (`dynamic`, setup.py) cannot be known without building.
"""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path

from app.suite.dependencies import extras, normalize, requirement_names
from app.suite.plan import CheckSpec
from app.suite.project import read_project, table
from app.suite.recipe import PIP_INSTALL, pip_install


def from_checkout(spec: CheckSpec, root: Path, failed: str) -> CheckSpec | None:
    """`spec` with its failed install command `failed` (one that installs the project) replaced
    by an install of what the project declares, run from the checkout; None when `failed` does
    not install the project or its dependencies are not written in pyproject.toml."""
    if failed not in spec.install or not failed.startswith(PIP_INSTALL + " "):
        return None
    project = read_project(root)
    metadata = table(project.pyproject, "project")
    dynamic = metadata.get("dynamic", [])
    if not metadata or not isinstance(dynamic, list) or "dependencies" in dynamic:
        return None
    base = metadata.get("dependencies", [])
    if not isinstance(base, list) or not all(isinstance(b, str) for b in base):
        return None
    itself = normalize(str(metadata.get("name", "")))
    declared = extras(project)
    args, installed_itself = [], False
    words = shlex.split(failed[len(PIP_INSTALL) + 1 :])
    while words:
        word = words.pop(0)
        if word in ("-e", "--editable") and words and _is_itself(words[0]):
            word = words.pop(0)
        elif not _is_itself(word):
            args.append(word)
            continue
        installed_itself = True
        wanted = [name for name in word.partition("[")[2].rstrip("]").split(",") if name]
        for requirement in [*base, *(r for name in wanted for r in declared.get(name, []))]:
            # `lib[yaml]` among lib's own extras: what it brings is listed here already.
            if requirement_names([requirement]) != {itself} and requirement not in args:
                args.append(requirement)
    if not installed_itself:
        return None
    install = tuple(
        pip_install(args) if command == failed else command
        for command in spec.install
        if command != failed or any(not a.startswith("-") for a in args)
    )
    folder = (
        "src" if (root / "src").is_dir() and not (root / "src" / "__init__.py").exists() else "."
    )
    env = dict(spec.env)
    env["PYTHONPATH"] = f"{folder}:{env['PYTHONPATH']}" if env.get("PYTHONPATH") else folder
    shown = "`src`" if folder == "src" else "the project's root"
    line = (
        f"The project could not be installed (`{failed}` failed; see the log): the "
        f"dependencies pyproject.toml declares were installed and the tests run from the "
        f"checkout, with {shown} on PYTHONPATH."
    )
    explanation = (*spec.explanation[:-1], line, *spec.explanation[-1:])
    return replace(spec, install=install, env=tuple(env.items()), explanation=explanation)


def _is_itself(word: str) -> bool:
    """`.`, `./`, `.[test]`, `-e.`: the project in the current folder."""
    return word.removeprefix("-e").partition("[")[0] in (".", "./")
