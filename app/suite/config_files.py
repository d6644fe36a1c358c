"""The two files Conveyor's configuration is written in, as documents: pyproject.toml's
`[tool.conveyor]` and `.conveyor.yml`.

What config.py validates arrives here as plain data with a Document that names each setting as
people write it and finds its line (tomllib keeps no positions: the TOML text is read for them;
YAML's are its nodes'). Before any of it is walked, a YAML text is bounded (depth, aliases, values
once expanded: `yaml_shape`) and refused with duplicate keys, and in both formats no text may hold
a NUL character nor a number go beyond 64 bits (`plain_values`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from app.suite.plan import ConfigError
from app.suite.repository_files import excerpt, parser_message

PYPROJECT = "pyproject.toml"
YAML_FILE = ".conveyor.yml"

# Bounds on what a configuration may be, far beyond any real one (which has tens of values, four
# levels deep), checked before anything walks it: a repository's file must not make the planner
# recurse, loop or allocate without end.
MAX_DEPTH = 32
MAX_ALIASES = 100
MAX_VALUES = 100_000
MAX_NUMBER = 2**63 - 1

# A path to a value inside the configuration: mapping keys and list indexes.
Key = str | int
Locate = Callable[[tuple[Key, ...]], int | None]


@dataclass(frozen=True)
class Document:
    """Where the configuration is, to say where each mistake is."""

    path: str
    prefix: str  # "tool.conveyor" in pyproject.toml, "" in .conveyor.yml
    locate: Locate
    mapping: str  # what the format calls a mapping: "table" or "mapping"

    def error(self, at: tuple[Key, ...], message: str) -> ConfigError:
        return ConfigError(self.path, self.locate(at), message)

    def name(self, at: tuple[Key, ...]) -> str:
        """How people write the setting: `tool.conveyor.checks.tests.run`, `checks.lint.env`."""
        text = self.prefix
        for key in at:
            if isinstance(key, int):
                text += f"[{key}]"
            else:
                part = key if _bare(key) else f'"{key}"'
                text = f"{text}.{part}" if text else part
        return text or "the top level"


def _bare(key: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9_-]+", key))


def toml_document(text: str) -> Document:
    """`[tool.conveyor]` in pyproject.toml, whose `text` gives the lines of its keys."""
    return Document(PYPROJECT, "tool.conveyor", _toml_locator(text), "table")


def read_yaml(text: str) -> tuple[Any, Document]:
    """`.conveyor.yml`'s data, bounded and checked (`yaml_shape`, no duplicate keys,
    `plain_values`), with its Document; a ConfigError with its line if it is none of that."""
    try:
        yaml_shape(text, YAML_FILE)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # The problem can quote the file (`found undefined alias '...'`), and str(exc) shows
        # its lines: only the first line, each quoted value cut short.
        problem = parser_message(getattr(exc, "problem", None) or str(exc))
        context = getattr(exc, "context", None)
        detail = f"{problem} ({parser_message(context)})" if context else problem
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(YAML_FILE, line, f"not valid YAML: {detail}.") from None
    except ValueError:
        # int() refuses a number of more than 4300 digits: not a YAMLError.
        raise ConfigError(YAML_FILE, None, "not valid YAML: a number is too long.") from None
    except RecursionError:
        raise ConfigError(YAML_FILE, None, "not valid YAML: it is nested too deeply.") from None
    if node is None:
        raise ConfigError(YAML_FILE, None, "is empty: it needs `checks`, each with its `run`.")
    _no_duplicate_keys(node)
    document = Document(YAML_FILE, "", _yaml_locator(node), "mapping")
    plain_values(data, document)
    return data, document


# --------------------------------------------------------------------------------------------
# What no configuration may be


_OPENING = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSING = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def yaml_shape(text: str, name: str) -> None:
    """Refuse a YAML document nested deeper than MAX_DEPTH, with more than MAX_ALIASES aliases,
    or more than MAX_VALUES values once its aliases are expanded, from the parser's events: no
    tree is built and nothing recurses, so the check itself is bounded by the text's size."""
    depth = aliases = values = 0
    opened: list[tuple[str | None, int]] = []  # the open collections: anchor, values before it
    sizes: dict[str, int] = {}  # anchor → how many values it stands for, expanded
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, _OPENING):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigError(
                    name, line, f"is nested too deeply here: more than {MAX_DEPTH} levels."
                )
            opened.append((event.anchor, values))
            values += 1
        elif isinstance(event, _CLOSING):
            depth -= 1
            anchor, before = opened.pop()
            if anchor is not None:
                sizes[anchor] = values - before
        elif isinstance(event, yaml.ScalarEvent):
            values += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ConfigError(
                    name,
                    line,
                    f"has more than {MAX_ALIASES} aliases (`*name`); Conveyor reads at most "
                    f"{MAX_ALIASES}. Is it a YAML alias bomb?",
                )
            values += sizes.get(str(event.anchor), 1)
        if values > MAX_VALUES:
            raise ConfigError(
                name,
                line,
                f"stands for more than {MAX_VALUES} values once its aliases are expanded; "
                "Conveyor reads at most that many. Is it a YAML alias bomb?",
            )


def plain_values(data: Any, doc: Document) -> None:
    """Refuse text with a NUL character (no command, variable or name can hold one: the
    kernel cuts at it) and numbers beyond 64 bits, wherever they are, with their line.
    Iterative, and each collection once: aliases make the data a graph, not a tree."""
    pending: list[tuple[tuple[Key, ...], Any]] = [((), data)]
    seen: set[int] = set()
    while pending:
        at, value = pending.pop()
        if isinstance(value, Mapping | list):
            if id(value) in seen:
                continue
            seen.add(id(value))
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            for key, item in items:
                place = (*at, key if isinstance(key, str | int) else str(key))
                if isinstance(key, str) and "\0" in key:
                    raise doc.error(
                        place, f"`{doc.name(at)}` has a key with a NUL character (\\0)."
                    )
                pending.append((place, item))
        elif isinstance(value, str) and "\0" in value:
            raise doc.error(
                at,
                f"`{doc.name(at)}` holds a NUL character (\\0): no command, variable or name "
                "can hold one.",
            )
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
            raise doc.error(
                at,
                f"`{doc.name(at)}` is a number of {len(str(abs(value)))} digits; Conveyor reads "
                f"numbers up to {MAX_NUMBER}.",
            )


def _no_duplicate_keys(node: yaml.Node, seen_nodes: set[int] | None = None) -> None:
    # YAML silently keeps the last of two equal keys; a person means one of them.
    # An alias is the node it names, met again: each node is checked once, or nine aliases of
    # nine aliases of... would take forever.
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise ConfigError(
                        YAML_FILE,
                        key.start_mark.line + 1,
                        f"the key `{excerpt(key.value)}` appears twice.",
                    )
                seen.add(key.value)
            _no_duplicate_keys(value, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _no_duplicate_keys(item, seen_nodes)


# --------------------------------------------------------------------------------------------
# Line numbers


def _toml_locator(text: str) -> Locate:
    """Lines of keys in pyproject.toml, found by reading the text (tomllib keeps no positions)."""
    entries: dict[tuple[str, ...], int] = {}
    header: tuple[str, ...] = ()
    closing = ""  # the quotes that end a multi-line string we are inside
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if closing:
            if closing in stripped:
                closing = ""
            continue
        table = re.match(r"^\[\[?\s*(.+?)\s*\]\]?\s*(#.*)?$", stripped)
        if table:
            header = tuple(_split_dotted(table.group(1)))
            for end in range(1, len(header) + 1):  # a table is first mentioned here
                entries.setdefault(header[:end], number)
            continue
        assignment = re.match(
            r"^((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*=",
            stripped,
        )
        if assignment:
            key = header + tuple(_split_dotted(assignment.group(1)))
            for end in range(len(header) + 1, len(key) + 1):
                entries.setdefault(key[:end], number)
            rest = stripped[assignment.end() :]
            for quotes in ('"""', "'''"):
                if rest.count(quotes) % 2 == 1:
                    closing = quotes

    def locate(path: tuple[Key, ...]) -> int | None:
        full = ("tool", "conveyor", *(p for p in path if isinstance(p, str)))
        for size in range(len(full), 0, -1):
            line = entries.get(full[:size])
            if line is None:
                continue
            if size == len(full):
                return line
            # The rest is inside an inline table or array that starts on this line.
            return _find_key(lines, line, full[size]) or line
        return None

    return locate


def _split_dotted(key: str) -> list[str]:
    """`a."b.c"` → ["a", "b.c"]: tomllib decodes the key itself (quotes, escapes)."""
    try:
        parsed: Any = tomllib.loads(f"{key} = 0")
    except tomllib.TOMLDecodeError:
        parsed = None
    path: list[str] = []
    while isinstance(parsed, dict) and len(parsed) == 1:
        name, parsed = next(iter(parsed.items()))
        path.append(name)
    if path and parsed == 0:
        return path
    parts = re.findall(r"\"([^\"]*)\"|'([^']*)'|([^.\s]+)", key)
    return [a or b or c for a, b, c in parts]


def _find_key(lines: Sequence[str], start: int, key: str) -> int | None:
    pattern = re.compile(rf"(^|[{{,\s])(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=")
    for number in range(start, len(lines) + 1):
        if pattern.search(lines[number - 1]):
            return number
    return None


def _yaml_locator(root: yaml.Node) -> Locate:
    def locate(path: tuple[Key, ...]) -> int | None:
        node: yaml.Node = root
        line: int = node.start_mark.line + 1
        for part in path:
            if isinstance(node, yaml.MappingNode):
                found = next((kv for kv in node.value if kv[0].value == str(part)), None)
                if found is None:
                    return line
                line, node = found[0].start_mark.line + 1, found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    return line
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line

    return locate
