"""What GitHub's JSON builders share: the JsonObject type, GitHub's node ids, GitHub's own
example payloads (payloads/*.json, see SOURCES.md) as templates whose keys every built
object keeps, and the base of the builders, which knows the world and the URL it is served at.

The builders stack, each adding one kind of object: json_accounts.py (people, apps,
installations), json_repos.py (repositories, commits, files), json_issues.py (pull requests,
issues, comments), json_checks.py (check suites and runs), and payloads.py's PayloadBuilder
(whole webhook bodies) on top.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from app.localgithub.state import World

JsonObject = dict[str, Any]


@cache
def _template_text(name: str) -> str:
    return (
        resources.files("app.localgithub").joinpath("payloads", f"{name}.json").read_text("utf-8")
    )


def template(name: str) -> JsonObject:
    """A fresh copy of GitHub's example payload `payloads/<name>.json`."""
    loaded: JsonObject = json.loads(_template_text(name))
    return loaded


def node_id(kind: str, number: int) -> str:
    # GitHub's legacy global node ids: base64 of "0<len>:<Type><id>".
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


class JsonBase:
    """The world the JSON is built from, and the URL it is served at."""

    def __init__(self, world: World) -> None:
        self.world = world

    @property
    def base(self) -> str:
        return self.world.url

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc
