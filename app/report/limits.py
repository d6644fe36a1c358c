"""GitHub's limits on what a check run shows, in one place, counted as GitHub counts them.

GitHub checks a check run's body twice: its JSON schema counts characters (`maxLength`), its
database counts UTF-8 bytes ("summary exceeds a maximum bytesize of 65535"). A text within the
byte limit is within the character limit too, so the long texts are measured in bytes; the short
fields whose limit GitHub states in characters (titles, button labels) are cut by characters.

Texts are cut at a character, never inside one, and at a line break when one is near the cut, so
that a log or a table loses whole lines. A marker says what was dropped: the head of a log tail
("earlier output omitted"), the end of anything else ("cut to fit").

This module sits with the report model, below both reporting and the GitHub client, so that
every step that shortens text for GitHub uses the same numbers.
"""

from __future__ import annotations

# `output.summary` and `output.text`: 65535 bytes (the schema also says 65535 characters).
TEXT_BYTES = 65535
# An annotation's `message` and `raw_details`: documented as "64 KB"; a MySQL TEXT column holds
# 65535 bytes, one less than 64 KiB, so that is what is sent: it is within either reading.
ANNOTATION_BLOB_BYTES = 65535
# An annotation's `title`: 255 characters. The check run's own `output.title` has no documented
# limit; a title is one line, so it gets the same.
TITLE_CHARS = 255
ANNOTATIONS_PER_REQUEST = 50
# Not GitHub's: Conveyor's own. Beyond this many a check run's annotations stop helping (and
# each 50 cost a request): the rest are counted in the summary.
ANNOTATIONS_SENT = 1000
ACTIONS = 3
ACTION_LABEL_CHARS = 20
ACTION_DESCRIPTION_CHARS = 40
ACTION_IDENTIFIER_CHARS = 20

CUT = "\n\n… (cut to fit GitHub's limit)"
OMITTED = "… (earlier output omitted)\n"
# How far back (or forward) from a cut a line break is looked for: far enough for an ordinary
# line, near enough that little is lost when a text has one enormous line.
NEAR = 1024


def utf8(text: str) -> bytes:
    """The bytes GitHub counts. A lone surrogate (from text decoded without care) has no UTF-8
    form and could not be sent as JSON GitHub accepts: it becomes "?"."""
    return text.encode("utf-8", errors="replace")


def size(text: str) -> int:
    """The length GitHub's byte limits measure."""
    return len(utf8(text))


def keep_head(text: str, limit: int, marker: str = CUT) -> str:
    """`text` if it fits in `limit` bytes, else its beginning and `marker`, in `limit` bytes."""
    data = utf8(text)
    if len(data) <= limit:
        return data.decode()
    mark = utf8(marker)
    if len(mark) > limit:
        mark = b""
    cut = _boundary_back(data, limit - len(mark))
    line = data.rfind(b"\n", max(0, cut - NEAR), cut)
    if line > 0:
        cut = line
    return (data[:cut] + mark).decode()


def keep_tail(text: str, limit: int, marker: str = OMITTED) -> str:
    """`text` if it fits in `limit` bytes, else `marker` and its end, in `limit` bytes: for logs,
    whose end says what went wrong."""
    data = utf8(text)
    if len(data) <= limit:
        return data.decode()
    mark = utf8(marker)
    if len(mark) > limit:
        mark = b""
    start = _boundary_forward(data, len(data) - (limit - len(mark)))
    line = data.find(b"\n", start, start + NEAR)
    if line != -1 and line + 1 < len(data):
        start = line + 1
    return (mark + data[start:]).decode()


def chars(text: str, limit: int) -> str:
    """`text` cut to `limit` characters (for the fields GitHub measures in characters)."""
    return text[:limit]


def title(text: str) -> str:
    """A title within TITLE_CHARS characters; one cut short ends in "…" to say so."""
    if len(text) <= TITLE_CHARS:
        return text
    return chars(text, TITLE_CHARS - 1) + "…"


def _boundary_back(data: bytes, cut: int) -> int:
    """The nearest character boundary at or before `cut` (a UTF-8 continuation byte is
    10xxxxxx: a character never starts with one)."""
    while 0 < cut < len(data) and data[cut] & 0xC0 == 0x80:
        cut -= 1
    return max(cut, 0)


def _boundary_forward(data: bytes, start: int) -> int:
    while 0 < start < len(data) and data[start] & 0xC0 == 0x80:
        start += 1
    return start
