"""A check run's Markdown as a terminal shows it best: tables in aligned columns, headings and
list items on lines of their own, no `**`; parsed by markdown-it-py as the run page
parses it, so both read the same document."""

from __future__ import annotations

import unicodedata

from markdown_it import MarkdownIt
from markdown_it.token import Token

# GitHub-flavoured as far as check runs use it; raw HTML off (it stays text). The run page
# renders with this same parser (app/pages/markdown.py).
GITHUB_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def plain_text(markdown: str) -> str:
    lines: list[str] = []
    table: list[list[str]] = []
    row: list[str] | None = None
    depth = 0
    for token in GITHUB_MARKDOWN.parse(markdown):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
            if depth == 0:
                lines.append("")
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            table.append(row)
            row = None
        elif token.type == "table_close":
            lines.extend(_columns(table))
            lines.append("")
            table = []
        elif token.type == "inline" and row is not None:
            row.append(_inline(token))
        elif token.type == "inline":
            text = _inline(token)
            if depth:
                lines.append("  " * (depth - 1) + "- " + text)
            else:
                lines.extend([*text.splitlines(), ""])
        elif token.type in ("fence", "code_block"):
            lines.extend(["    " + line for line in token.content.rstrip("\n").splitlines()])
            lines.append("")
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _inline(token: Token) -> str:
    parts = []
    for child in token.children or ():
        if child.type == "text":
            parts.append(child.content)
        elif child.type == "code_inline":
            parts.append(child.markup + child.content + child.markup)  # `code` reads as code
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


def _columns(table: list[list[str]]) -> list[str]:
    if not table:
        return []
    count = max(len(row) for row in table)
    widths = [max(_width(row[i]) if i < len(row) else 0 for row in table) for i in range(count)]
    lines = []
    for index, row in enumerate(table):
        cells = [_pad(row[i] if i < len(row) else "", widths[i]) for i in range(count)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("─" * width for width in widths))
    return lines


def _width(text: str) -> int:
    """Columns the text takes in a terminal: wide characters count twice."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
