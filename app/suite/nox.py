"""nox's test session translated into plain install and test commands.

noxfile.py is read with `ast`, never imported: only straight-line sessions of literal
`session.install(...)` and `session.run(...)` calls are translated; otherwise nox itself runs.
"""

from __future__ import annotations

import ast
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.suite.install_commands import install_step
from app.suite.project import Project, call_name, literal_strings, parse_python
from app.suite.recipe import (
    PIP_INSTALL,
    Recipe,
    Untranslatable,
    nox_itself,
    pip_install,
    requirement_files_in,
    run_tool_itself,
)
from app.suite.repository_files import excerpt

_NOX_TEST_SESSIONS = ("tests", "test", "unit", "unittests", "unit_tests", "pytest")


@dataclass(frozen=True)
class _NoxSession:
    name: str
    function: ast.FunctionDef
    has_python: bool
    parametrized: bool


def nox_recipe(project: Project) -> Recipe | None:
    module = parse_python(project.root, "noxfile.py")
    if module is None:
        return None
    sessions = _nox_sessions(module)
    session = _nox_test_session(sessions, _nox_default_sessions(module))
    if session is None:
        return None
    constants = _module_constants(module)
    try:
        if session.parametrized:
            raise Untranslatable("a parametrized session")
        install, test = _translate_nox_session(session.function, constants)
    except Untranslatable as exc:
        force = f" --force-python {_CURRENT_PYTHON}" if session.has_python else ""
        fallback = nox_itself(session.name, force)
        return run_tool_itself("nox", "noxfile.py", session.name, str(exc), fallback)
    return Recipe(
        install=install,
        test=test,
        detected=(f"nox session `{session.name}` in noxfile.py",),
        details=(
            "Its `session.install` and `session.run` calls run as plain commands, "
            "so the environment can be cached and the test step runs without the network.",
        ),
        files=("noxfile.py", *requirement_files_in(project.root, _install_args(install))),
    )


# The check venv's own Python as nox names versions ("3.12"), for sessions pinned to others.
_CURRENT_PYTHON = '"$(python -c \'import sys; print("%d.%d" % sys.version_info[:2])\')"'


def _install_args(install: Sequence[str]) -> list[str]:
    args: list[str] = []
    for command in install:
        if command.startswith(PIP_INSTALL):
            args += shlex.split(command[len(PIP_INSTALL) :])
    return args


def _nox_sessions(module: ast.Module) -> list[_NoxSession]:
    sessions = []
    for node in module.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            func = call.func if call else decorator
            if call_name(func) not in ("nox.session", "session"):
                continue
            keywords = {kw.arg: kw.value for kw in call.keywords} if call else {}
            name_node = keywords.get("name")
            name = (
                name_node.value
                if isinstance(name_node, ast.Constant) and isinstance(name_node.value, str)
                else node.name
            )
            parametrized = any(
                "parametrize" in call_name(d.func if isinstance(d, ast.Call) else d)
                for d in node.decorator_list
            )
            has_python = "python" in keywords or "py" in keywords
            sessions.append(_NoxSession(name, node, has_python, parametrized))
    return sessions


def _nox_default_sessions(module: ast.Module) -> list[str]:
    for node in module.body:
        if (
            isinstance(node, ast.Assign)
            and any(call_name(t) == "nox.options.sessions" for t in node.targets)
            and (names := literal_strings(node.value))
        ):
            return names
    return []


def _nox_test_session(sessions: list[_NoxSession], defaults: list[str]) -> _NoxSession | None:
    by_name = {s.name: s for s in sessions}
    preferred = [n for n in _NOX_TEST_SESSIONS if n in defaults] + list(_NOX_TEST_SESSIONS)
    for name in preferred:
        if name in by_name:
            return by_name[name]
    for session in sessions:  # any session that runs a test runner
        if re.search(r"['\"](pytest|unittest)['\"]", ast.unparse(session.function)):
            return session
    return None


def _module_constants(module: ast.Module) -> dict[str, list[str]]:
    constants: dict[str, list[str]] = {}
    for node in module.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            values = literal_strings(node.value)
            if isinstance(target, ast.Name) and values is not None:
                constants[target.id] = values
    return constants


def _translate_nox_session(
    function: ast.FunctionDef, constants: Mapping[str, list[str]]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Only straight-line sessions: a docstring, then calls on the session object."""
    if not function.args.args:
        raise Untranslatable("a session without a session argument")
    session = function.args.args[0].arg
    names = dict(constants)
    install: list[str] = []
    test: list[str] = []
    cd = ""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    for statement in body:
        if isinstance(statement, ast.Assign) and _bind_posargs_default(statement, session, names):
            continue
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
            raise Untranslatable(f"the statement `{_code(statement)}`")
        if call_name(call.func.value) != session:
            raise Untranslatable(f"the call `{_code(call)}`")
        method = call.func.attr
        if method in ("log", "debug", "warn", "notify", "error"):
            continue
        args = _nox_args(call, session, names)
        if method == "chdir":
            cd = f"cd {shlex.quote(args[0])} && " if args else ""
        elif method == "install":
            install.append(pip_install(args))
        elif method in ("run_install", "run_always"):
            install.append(_with_env(call, shlex.join(args)))
        elif method == "run" and (moved := install_step(args)) is not None:
            # `session.run("pip", "install", ...)`: the install step has the network and
            # writes the environment; the test step has neither.
            install += [f"{cd}{_with_env(call, c)}" for c in moved]
        elif method == "run":
            test.append(cd + _with_env(call, shlex.join(args)))
        else:
            raise Untranslatable(f"`session.{excerpt(method)}`")
    if not test:
        raise Untranslatable("no `session.run` call")
    return tuple(install), tuple(test)


def _bind_posargs_default(statement: ast.Assign, session: str, names: dict[str, list[str]]) -> bool:
    """`args = session.posargs or ["tests"]`: the default is what runs without posargs."""
    if len(statement.targets) != 1 or not isinstance(statement.targets[0], ast.Name):
        return False
    value = statement.value
    default = _posargs_default(value, session)
    if default is None:
        default = literal_strings(value)
    if default is None:
        return False
    names[statement.targets[0].id] = default
    return True


def _posargs_default(node: ast.expr, session: str) -> list[str] | None:
    if call_name(node) == f"{session}.posargs":
        return []
    if (
        isinstance(node, ast.BoolOp)
        and isinstance(node.op, ast.Or)
        and len(node.values) == 2
        and call_name(node.values[0]) == f"{session}.posargs"
    ):
        return literal_strings(node.values[1])
    return None


def _code(node: ast.AST) -> str:
    # The summary names what could not be translated, as a short piece of it.
    return excerpt(ast.unparse(node), 60)


def _nox_args(call: ast.Call, session: str, names: Mapping[str, list[str]]) -> list[str]:
    for keyword in call.keywords:
        if keyword.arg not in ("env", "external", "silent", "log", "include_outer_env", "stderr"):
            raise Untranslatable(f"the argument `{keyword.arg}=` in `{_code(call)}`")
    args: list[str] = []
    for arg in call.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            args.append(arg.value)
            continue
        inner = arg.value if isinstance(arg, ast.Starred) else arg
        value = _nox_arg_value(inner, session, names)
        if value is None or (not isinstance(arg, ast.Starred) and len(value) != 1):
            raise Untranslatable(f"the argument `{_code(arg)}`")
        args += value
    return args


def _nox_arg_value(
    node: ast.expr, session: str, names: Mapping[str, list[str]]
) -> list[str] | None:
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if (default := _posargs_default(node, session)) is not None:
        return default
    if isinstance(node, ast.Call) and call_name(node.func).endswith("project.dependency_groups"):
        groups = [a.value for a in node.args[1:] if isinstance(a, ast.Constant)]
        return [part for g in groups if isinstance(g, str) for part in ("--group", g)]
    return literal_strings(node)


def _with_env(call: ast.Call, command: str) -> str:
    for keyword in call.keywords:
        if keyword.arg != "env":
            continue
        if not isinstance(keyword.value, ast.Dict):
            raise Untranslatable(f"the argument `env={_code(keyword.value)}`")
        pairs = []
        for key, value in zip(keyword.value.keys, keyword.value.values, strict=True):
            if not (isinstance(key, ast.Constant) and isinstance(value, ast.Constant)):
                raise Untranslatable(f"the argument `env={_code(keyword.value)}`")
            pairs.append(f"{key.value!s}={shlex.quote(str(value.value))}")
        return " ".join([*pairs, command])
    return command
