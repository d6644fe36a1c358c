"""app/pages/markdown.py: GitHub-flavoured Markdown, untrusted text kept as text."""

from __future__ import annotations

from app.pages.markdown import render_markdown


def test_tables_emphasis_and_code_render_as_github_renders_them() -> None:
    html = render_markdown("| a | b |\n| --- | --- |\n| `x` | ~~y~~ |\n\n**z**")
    assert "<table>" in html
    assert "<code>x</code>" in html
    assert "<s>y</s>" in html
    assert "<strong>z</strong>" in html


def test_raw_html_and_script_links_stay_text() -> None:
    html = render_markdown("<script>alert(1)</script> [x](javascript:alert(1)) <img src=x>")
    assert "<script>" not in html
    assert "<img" not in html
    assert 'href="javascript' not in html
    assert "&lt;script&gt;" in html
