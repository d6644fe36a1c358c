"""GitHub-flavoured Markdown (tables, strikethrough) as HTML, as GitHub shows a check run's
summary; safe for untrusted text by construction: raw HTML in it is shown as text, and links
to `javascript:` and the like are not made (markdown-it's own link check)."""

from __future__ import annotations

from markdown_it import MarkdownIt

_RENDERER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def render_markdown(text: str) -> str:
    html: str = _RENDERER.render(text)
    return html
