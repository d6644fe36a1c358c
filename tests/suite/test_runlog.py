"""The run log: output reaches the disk masked, even when a secret is split across reads."""

from __future__ import annotations

import base64
from pathlib import Path

from app.suite.runlog import MASK, Masker, RunLog

TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA PRIVATE KEY-----\n"
)


def written(path: Path, chunks: list[bytes], secrets: tuple[str, ...] = (TOKEN, PEM)) -> str:
    log = RunLog(path, Masker(secrets))
    for chunk in chunks:
        log.write(chunk)
    log.close()
    return path.read_text()


def test_a_secret_printed_plain_is_masked(tmp_path: Path) -> None:
    text = written(tmp_path / "log", [f"token is {TOKEN}\n".encode()])
    assert text == f"token is {MASK}\n"


def test_a_secret_split_across_two_reads_is_masked(tmp_path: Path) -> None:
    line = f"Authorization: token {TOKEN} ok\n".encode()
    text = written(tmp_path / "log", [line[:30], line[30:]])
    assert TOKEN not in text
    assert text == f"Authorization: token {MASK} ok\n"


def test_base64_of_a_secret_at_any_offset_is_masked(tmp_path: Path) -> None:
    chunks = [
        base64.b64encode(prefix.encode() + TOKEN.encode() + b"!") + b"\n"
        for prefix in ("", "x", "xy", "x-access-token:")
    ]
    text = written(tmp_path / "log", chunks)
    for chunk in chunks:
        assert chunk.decode().strip() not in text
    assert text.count(MASK) == 4


def test_each_line_of_a_private_key_is_masked(tmp_path: Path) -> None:
    text = written(tmp_path / "log", [f"key:\n{PEM}".encode()])
    assert "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun" not in text
    assert "VTLw7onLRnrq0" not in text


def test_short_values_are_not_secrets_and_text_is_kept(tmp_path: Path) -> None:
    text = written(tmp_path / "log", [b"abc def\n", b"no newline at the end"], secrets=("abc",))
    assert text == "abc def\nno newline at the end\n"


def test_sections_and_tail(tmp_path: Path) -> None:
    log = RunLog(tmp_path / "log", Masker((TOKEN,)))
    log.section("Installing (network on)")
    log.write(b"x" * 70_000 + b"\nlast line " + TOKEN.encode())
    assert log.tail(100).endswith(f"last line {MASK}\n")
    assert log.tail(100).startswith("…")
    log.close()
    assert "── Installing (network on) ── [" in (tmp_path / "log").read_text()


def test_a_secret_split_over_two_lines_is_masked(tmp_path: Path) -> None:
    half = len(TOKEN) // 2
    first, second = TOKEN[:half], TOKEN[half:]
    chunks = [
        f"{first}\n{second}\n".encode(),  # the two pieces alone, in one read
        f"token: {first}\n".encode(),  # with text around them, one line per read
        f"    {second} (end)\n".encode(),
        b"next\n",
        f"{first}\r\n{second}\n".encode(),  # a Windows line end
    ]
    text = written(tmp_path / "log", chunks)
    assert first not in text
    assert second not in text
    # The line breaks stay where they were; only the secret's pieces are gone.
    assert text == f"{MASK}\n\ntoken: {MASK}\n (end)\nnext\n{MASK}\n\n"


def test_a_split_secret_at_any_point_and_in_base64_is_masked(tmp_path: Path) -> None:
    encoded = base64.b64encode(TOKEN.encode()).decode()
    chunks = []
    for secret in (TOKEN, encoded):
        for at in range(1, len(secret)):
            chunks.append(f"a {secret[:at]}\n".encode())
            chunks.append(f"{secret[at:]} b\n".encode())
    text = written(tmp_path / "log", chunks)
    assert text.count(MASK) == len(TOKEN) - 1 + len(encoded) - 1
    # Base64's last characters also hold the bits of what follows the secret: they stay.
    assert {word.replace(MASK, "") for word in text.split()} <= {
        "a",
        "b",
        "",
        "Q",
        "Q=",
        "Q==",
        "=",
        "==",
    }


def test_a_split_secret_is_masked_when_the_pieces_come_in_separate_reads(tmp_path: Path) -> None:
    line = f"x {TOKEN[:10]}\n{TOKEN[10:]} y\n".encode()
    for size in (1, 3, 7):
        path = tmp_path / f"log{size}"
        text = written(path, [line[i : i + size] for i in range(0, len(line), size)])
        assert text == f"x {MASK}\n y\n", size


def test_pieces_that_are_not_on_consecutive_lines_and_short_values_are_kept(
    tmp_path: Path,
) -> None:
    # Only a secret's own characters may be split: text between the pieces is left as it is
    # (a log cannot tell it from ordinary output), and short values are never secrets.
    text = written(
        tmp_path / "log",
        [b"abc\n", b"def\n", b"abcd\n", b"\n", b"efgh\n"],
        secrets=("abcdef", "abc"),
    )
    assert text == f"{MASK}\n\nabcd\n\nefgh\n"


def test_only_the_last_line_is_held_back(tmp_path: Path) -> None:
    log = RunLog(tmp_path / "log", Masker((TOKEN,)))
    log.write(b"one\ntwo\n")
    assert (tmp_path / "log").read_text() == "one\n"  # "two" may go on with a secret's rest
    log.write(b"three\nfour")
    assert (tmp_path / "log").read_text() == "one\ntwo\n"
    log.flush()
    assert (tmp_path / "log").read_text() == "one\ntwo\nthree\nfour\n"
    log.write(b"x" * 200_000 + b"\n" + b"y" * 100)  # a very long line is not held
    assert (tmp_path / "log").stat().st_size > 200_000
    log.close()
    assert (tmp_path / "log").read_text().endswith("y" * 100 + "\n")


def test_a_large_log_is_kept_whole(tmp_path: Path) -> None:
    # Its speed: tests/benchmarks/log_masking.py.
    line = b"tests/test_calc.py::test_add PASSED                                   [ 42%]\n"
    text = written(tmp_path / "log", [line * 1000] * 100)  # 8 MB in 80 KB reads
    assert text == line.decode() * 100_000


def kept(log: RunLog) -> list[tuple[int, bytes]]:
    """What the log keeps, piece by piece, as the worker ships it: (where it starts, bytes)."""
    pieces: list[tuple[int, bytes]] = []
    position = 0
    while True:
        start, data = log.read(position, 1024 * 1024)
        if not data:
            return pieces
        pieces.append((start, data))
        position = start + len(data)


def on_disk(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.iterdir())


def test_a_capped_log_keeps_its_head_and_its_tail_and_never_more_than_the_cap(
    tmp_path: Path,
) -> None:
    log = RunLog(tmp_path / "log", Masker((TOKEN,)), limit=4096)
    lines = [f"line {n:05d}\n".encode() for n in range(1000)]
    for line in lines:
        log.write(line)
        assert on_disk(tmp_path) <= 4096
    log.close()
    assert on_disk(tmp_path) <= 4096
    everything = b"".join(lines)
    assert log.size == len(everything)
    assert log.head_end is not None
    [(first, head), *tail] = kept(log)
    assert first == 0
    # The head is the first half, whole lines; the tail the last lines, from a line's start.
    assert everything.startswith(head)
    assert log.head_end == len(head) > 2048 - 11
    assert head.endswith(b"\n")
    kept_tail = b"".join(data for _, data in tail)
    assert tail[0][0] == log.kept_from == log.head_end + log.omitted
    assert everything.endswith(kept_tail)
    assert kept_tail.startswith(b"line ")
    assert 1024 <= len(kept_tail) <= 2048
    assert log.omitted == len(everything) - len(head) - len(kept_tail) > 0
    assert log.tail(100).endswith("line 00999\n")


def test_a_capped_log_read_from_a_dropped_place_goes_on_from_what_is_kept(
    tmp_path: Path,
) -> None:
    log = RunLog(tmp_path / "log", Masker(()), limit=4096)
    for n in range(1000):
        log.line(f"line {n:05d}")
    assert log.head_end is not None
    start, data = log.read(log.head_end, 100)
    assert (start, data[:5]) == (log.kept_from, b"line ")
    assert log.read(log.size, 100) == (log.size, b"")
    log.close()


def test_a_line_longer_than_the_cap_is_cut_between_characters(tmp_path: Path) -> None:
    log = RunLog(tmp_path / "log", Masker(()), limit=4096)
    log.write("€".encode() * 5000 + b"\n")
    log.close()
    for _, data in kept(log):
        data.decode()  # no character cut in two
    assert log.size == 15001


def test_an_attempt_s_log_starts_empty(tmp_path: Path) -> None:
    (tmp_path / "log").write_bytes(b"the killed attempt's output\n")
    log = RunLog(tmp_path / "log", Masker(()))
    log.line("attempt 2")
    log.close()
    assert (tmp_path / "log").read_text() == "attempt 2\n"
