"""A check run as plain text, for `python -m app check`: what GitHub would show."""

from __future__ import annotations

from app.report.model import ICONS, CheckOutput
from app.report.plain_markdown import plain_text


def render(name: str, output: CheckOutput, *, with_text: bool = False) -> str:
    lines = [
        f"{ICONS.get(output.conclusion, '?')} {name}: {output.conclusion} — {output.title}",
        "",
        *("  " + line if line else "" for line in plain_text(output.summary).splitlines()),
    ]
    if output.annotations:
        lines += ["", f"  Annotations ({len(output.annotations)}):"]
        for a in output.annotations:
            first = a.message.strip().splitlines()[0] if a.message.strip() else ""
            lines.append(f"  {a.path}:{a.start_line}: {first}")
    if with_text and output.text:
        lines += ["", *("  " + line for line in output.text.splitlines())]
    return "\n".join(lines)
