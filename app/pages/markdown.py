"""GitHub-flavoured Markdown (tables, strikethrough) as HTML, as GitHub shows a check run's
summary; safe for untrusted text by construction: raw HTML in it is shown as text, and links
to `javascript:` and the like are not made (markdown-it's own link check)."""

from __future__ import annotations

from app.report.plain_markdown import GITHUB_MARKDOWN


def render_markdown(text: str) -> str:
    html: str = GITHUB_MARKDOWN.render(text)
    return html
