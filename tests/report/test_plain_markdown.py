"""app/report/plain_markdown.py: a summary as a terminal shows it."""

from __future__ import annotations

from app.report.plain_markdown import plain_text

SUMMARY = """✘ **1 test failed** of 3

| test | message |
| --- | --- |
| `test_add` | assert 3 == 4 |
| `test_日本` | ok |

### What ran

- Python 3.12
- Environment: **built**

```
$ pytest
```
"""


def test_a_summary_reads_as_text_with_its_table_in_columns() -> None:
    assert plain_text(SUMMARY) == (
        "✘ 1 test failed of 3\n"
        "\n"
        "test         message\n"
        "───────────  ─────────────\n"
        "`test_add`   assert 3 == 4\n"
        "`test_日本`  ok\n"
        "\n"
        "What ran\n"
        "\n"
        "- Python 3.12\n"
        "- Environment: built\n"
        "\n"
        "    $ pytest"
    )


def test_raw_html_stays_as_it_was_written() -> None:
    assert plain_text("a <b>c</b>") == "a <b>c</b>"
