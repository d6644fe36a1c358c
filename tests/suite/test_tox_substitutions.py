"""tox's `{...}` substitutions, each translated for the plain commands or refused."""

from __future__ import annotations

import os
import shlex
import subprocess

import pytest

from app.suite.recipe import Untranslatable
from app.suite.tox_substitutions import Where, shell_join, substitute

# ---- every substitution tox defines: translated to something that exists, or refused


def test_each_tox_substitution_is_translated_or_refused() -> None:
    here = Where("py312")
    in_tests = Where("py312", root="..", setenv={"FROM_SETENV": "yes"})
    translated = {
        "{toxinidir}/setup.cfg": ("../setup.cfg", ()),
        "{tox_root}": ("..", ()),
        "{envtmpdir}": ("../.tox/py312/tmp", (".tox/py312/tmp",)),
        "{env_tmp_dir}": ("../.tox/py312/tmp", (".tox/py312/tmp",)),
        "{envlogdir}": ("../.tox/py312/log", (".tox/py312/log",)),
        "{toxworkdir}/c": ("../.tox/c", (".tox",)),
        "{temp_dir}": ("../.tox/.tmp", (".tox/.tmp",)),
        "{envname}-{env_name}": ("py312-py312", ()),
        "{envpython}": ("python", ()),
        "{posargs:-x tests}": ("-x tests", ()),
        "{posargs}": ("", ()),
        "{tty:--color=yes:--color=no}": ("--color=no", ()),
        "a{/}b{:}c": ("a/b:c", ()),
        "{env:FROM_SETENV:no}": ("yes", ()),
    }
    for text, (expected, folders) in translated.items():
        done = substitute(text, in_tests)
        assert (done.text, done.folders) == (expected, frozenset(folders)), text
    # The environment's folders and the variables are the shell's to expand when it runs.
    args = shlex.split(
        substitute(
            '{envbindir}/python {envsitepackagesdir} {envdir} {env:A:{env:B:x"y}} {homedir}',
            here,
        ).text
    )
    shown = subprocess.run(
        ["sh", "-c", "printf '%s\\n' " + shell_join(args)],
        env={"VIRTUAL_ENV": "/v", "B": "from B", "HOME": "/h", "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert shown[0] == "/v/bin/python"
    assert shown[1].endswith("site-packages")
    assert shown[2:] == ["/v", "from B", "/h"]
    # A `setenv` value is handed over as it is: what only the shell knows is refused there.
    for text in ("{envbindir}", "{env:PATH}", "{glob:*.txt}", "{[testenv]deps}", "{unknown}"):
        with pytest.raises(Untranslatable, match="the substitution"):
            substitute(text, Where("py312", shell=False))
    assert substitute("{env:UNSET:fallback}", Where("py312", shell=False)).text == "fallback"
