"""Terminal escape sequences in tool output: colours (SGR) and the rest (cursor moves, titles).

GitHub shows a check run's text as Markdown, where they are noise (`␛[32m`); the run page turns
the colours into colours (app/pages/ansi.py) and drops the rest.
"""

from __future__ import annotations

import re

SGR = re.compile(r"\x1b\[([0-9;:]*)m")
# CSI sequences other than SGR, OSC (ended by BEL or ST), character set choices (ESC ( B),
# two-character escapes, a lone ESC.
OTHER_ESCAPE = re.compile(
    r"\x1b(?:\[[0-9;:?<=>]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[()*+][0-9A-Za-z]|.)?"
)


def strip_escapes(text: str) -> str:
    """The text without any escape sequence, and with what a carriage return overwrote on a
    line left out (a progress bar's earlier states)."""
    text = OTHER_ESCAPE.sub("", SGR.sub("", text))
    if "\r" not in text:
        return text
    return "\n".join(line.rstrip("\r").rpartition("\r")[2] for line in text.split("\n"))
