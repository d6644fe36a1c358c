"""The rule when no tool says how the tests run: one install of everything the project declares
for its tests, then pytest or unittest.

Dependency groups, extras, requirements files, PDM dev-dependencies and setup.py `tests_require`
become pip arguments; Poetry's groups are installed by Poetry itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.suite.dependencies import (
    choose_set,
    dependency_groups,
    extras,
    find_test_requirements,
    normalize,
    read_requirements,
    requirement_names,
)
from app.suite.extras import extras_the_tests_import
from app.suite.install_commands import poetry_install
from app.suite.project import Project, TestFiles, literal_strings, setup_call_kwargs, table
from app.suite.pytest_or_unittest import choose_test_command
from app.suite.recipe import Recipe, pip_install
from app.suite.uv_lock import UV_LOCK, uv_sync
from app.suite.workflows import ci_extras


@dataclass(frozen=True)
class Source:
    """One place that declares test dependencies, as pip arguments."""

    args: tuple[str, ...]
    names: frozenset[str]  # normalized requirement names it brings (to know if pytest is there)
    phrase: str  # for "Detected: ..."
    files: tuple[str, ...] = ()
    # The same as `uv sync` arguments, for a project locked with uv; None when uv cannot bring
    # it (a requirements file, setup.py's tests_require).
    uv: tuple[str, ...] | None = None


def pip_recipe(project: Project, tests: TestFiles) -> Recipe:
    sources = _requirements_sources(project)
    group = _group_source(project)
    sources += [group] if group else []
    poetry = _poetry(project)
    if poetry is None:
        sources += _package_sources(project, tests)
    pdm = _pdm_source(project)
    sources += [pdm] if pdm and not group else []
    sources += _tests_require_source(project)
    declared = frozenset().union(*(s.names for s in sources)) | (poetry.names if poetry else set())
    test_command = choose_test_command(project, tests, declared)
    pytest = ["pytest"] if test_command.needs_pytest_install else []
    phrases = [s.phrase for s in sources] + ([poetry.detected] if poetry else [])
    locked = [s for s in sources if s.uv is not None] if project.has(UV_LOCK) else []
    if locked:
        # From the lock: the versions the project is tested with. pip adds what uv cannot.
        args = [a for s in sources if s.uv is None for a in s.args] + pytest
        synced = uv_sync([a for s in locked for a in s.uv or ()])
        install = (*synced, *((pip_install(args),) if args else ()))
        phrases.append(f"the locked versions of {UV_LOCK} (`uv sync --frozen`)")
    else:
        args = [a for s in sources for a in s.args] + pytest
        # Poetry first: the pip arguments (requirements files, pytest) add to what it installed.
        install = (*(poetry.install if poetry else ()), *((pip_install(args),) if args else ()))
    return Recipe(
        install=install,
        test=(test_command.command,),
        detected=(*phrases, test_command.description),
        files=tuple(f for s in sources for f in s.files) + poetry_files(project),
        details=poetry.details if poetry else (),
    )


def _requirements_sources(project: Project) -> list[Source]:
    sources = []
    names = ["requirements.txt"] if project.has("requirements.txt") else []
    test_requirements = find_test_requirements(project.root)
    names += [test_requirements] if test_requirements else []
    for name in names:
        found = read_requirements(project.root, name)
        sources.append(Source(("-r", name), found.names, f"`{name}`", found.files))
    return sources


def _group_source(project: Project) -> Source | None:
    groups = dependency_groups(project.pyproject)
    group = choose_set(groups)
    if group is None:
        return None
    spelled = _original_name(list(table(project.pyproject, "dependency-groups")), group)
    return Source(
        ("--group", spelled),
        frozenset(requirement_names(groups[group])),
        f"dependency group `{spelled}` in pyproject.toml",
        uv=("--group", spelled),
    )


def _package_sources(project: Project, tests: TestFiles) -> list[Source]:
    """The project itself, with its test extra; or, for a non-package, its listed dependencies."""
    if not project.is_package:
        deps = _non_package_dependencies(project)
        phrase = "the dependencies in `[project]` (the project is not a package)"
        found = Source(tuple(deps), frozenset(requirement_names(deps)), phrase, uv=())
        return [found] if deps else []
    all_extras = extras(project)
    extra = choose_set(all_extras)
    # The extras the project's own CI installs: its tests may import what they bring.
    from_ci = ci_extras(project.root, all_extras)
    # Without that evidence, the extras that bring what the tests import.
    imported = tuple(
        e
        for e in (
            ()
            if from_ci
            else extras_the_tests_import(
                project.root, tests.paths, all_extras, _non_package_dependencies(project)
            )
        )
        if e != extra
    )
    chosen = list(dict.fromkeys([*([extra] if extra else []), *from_ci, *imported]))
    if not chosen:
        return [Source(("-e", "."), frozenset(), "the project itself (editable)", uv=())]
    spelled = ",".join(chosen)
    phrase = f"the project itself (editable) with its extra `{extra}`" if extra else ""
    if from_ci:
        phrase = (
            f"the project itself (editable) with the extras `{spelled}`"
            f" (its GitHub workflows install `{','.join(from_ci)}`)"
        )
    if imported:
        phrase = (
            f"the project itself (editable) with the extras `{spelled}`"
            f" (its tests import what `{','.join(imported)}` brings)"
        )
    return [
        Source(
            ("-e", f".[{spelled}]"),
            frozenset(n for e in chosen for n in requirement_names(all_extras[e])),
            phrase,
            uv=tuple(a for e in chosen for a in ("--extra", e)),
        )
    ]


def _pdm_source(project: Project) -> Source | None:
    raw = table(project.pyproject, "tool", "pdm", "dev-dependencies")
    sets = {
        normalize(k): [v for v in vs if isinstance(v, str) and not v.startswith("-")]
        for k, vs in raw.items()
        if isinstance(vs, list)
    }
    chosen = choose_set(sets)
    if chosen is None:
        return None
    deps = sets[chosen]
    return Source(
        tuple(deps), frozenset(requirement_names(deps)), f"PDM dev-dependencies `{chosen}`"
    )


def _tests_require_source(project: Project) -> list[Source]:
    node = setup_call_kwargs(project.setup_py).get("tests_require")
    deps = literal_strings(node) if node is not None else None
    if not deps:
        return []
    return [Source(tuple(deps), frozenset(requirement_names(deps)), "`tests_require` in setup.py")]


def _non_package_dependencies(project: Project) -> list[str]:
    deps = table(project.pyproject, "project").get("dependencies", [])
    return [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else []


def poetry_files(project: Project) -> tuple[str, ...]:
    return ("poetry.lock",) if project.has("poetry.lock") else ()


@dataclass(frozen=True)
class _Poetry:
    install: tuple[str, ...]
    names: frozenset[str]
    detected: str
    details: tuple[str, ...]


def _poetry(project: Project) -> _Poetry | None:
    """Poetry's own groups: installed by Poetry, because only Poetry reads its constraint syntax
    (`^1.2`, tables with git/path/markers) and its lock file; a translation would be a second,
    lossy resolver. Poetry lives in a venv of its own so that its ~40 dependencies do not mix
    with the project's, and installs into the check's venv through VIRTUAL_ENV."""
    poetry = table(project.pyproject, "tool", "poetry")
    groups = {
        normalize(name): list(table(poetry, "group", name, "dependencies"))
        for name in table(poetry, "group")
    }
    legacy_dev = list(table(poetry, "dev-dependencies"))
    group = choose_set(groups)
    if not group and not legacy_dev:
        return None
    install = poetry_install(["--with", group] if group else [])
    names = frozenset(normalize(n) for n in (groups.get(group, []) if group else legacy_dev))
    described = (
        f"Poetry group `{group}` (installed with `poetry install --with {group}`)"
        if group
        else "Poetry dev-dependencies (installed with `poetry install`)"
    )
    details = (
        ("Poetry installs the locked versions from poetry.lock.",)
        if project.has("poetry.lock")
        else ()
    )
    return _Poetry(install, names, described, details)


def _original_name(names: Sequence[str], normalized: str) -> str:
    """How the project spells a group or extra (pip accepts either; people read this one)."""
    return next((name for name in names if normalize(name) == normalized), normalized)
