"""Re-run only these: the node ids `CONVEYOR_ONLY` lists, and which collected tests they keep."""

from __future__ import annotations


def read_only_list(path: str) -> frozenset[str] | None:
    """The node ids to keep, or None to keep everything (no list, or one that cannot be read:
    running every test is the safe way to be wrong)."""
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return frozenset(line.strip() for line in handle if line.strip())
    except (OSError, UnicodeDecodeError):
        return None


def selected(nodeid: str, only: frozenset[str]) -> bool:
    """Listed exactly, or under a listed module or class (a collection error's node id is the
    module: re-running it means every test in it). `test_x[1]` never selects `test_x[10]`."""
    if nodeid in only:
        return True
    parts = split_nodeid(nodeid)
    return any("::".join(parts[:end]) in only for end in range(1, len(parts)))


def split_nodeid(nodeid: str) -> list[str]:
    """`path::Class::test[params]` → parts; `::` inside the parameter ids is not a separator."""
    bracket = nodeid.find("[")
    head, tail = (nodeid, "") if bracket < 0 else (nodeid[:bracket], nodeid[bracket:])
    parts = head.split("::")
    parts[-1] += tail
    return parts
