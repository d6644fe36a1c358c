"""app/suite/run_outputs.py on real files: the reports a check's commands leave, read the way
files of untrusted code are (links, FIFOs and oversized files refused), coverage from the log,
and the folders they write in made empty without following what was planted there."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.report.junit import ReportError
from app.suite.run_outputs import (
    ReportFolders,
    coverage_from_log,
    folder_size,
    is_regular_file,
    make_empty,
    named_junit_files,
    present,
    read_reports,
    read_untrusted,
)


def junit(*names: str) -> str:
    cases = "".join(f'<testcase classname="t" name="{name}"/>' for name in names)
    return f"<testsuite>{cases}</testsuite>"


def plugin_report(nodeid: str, coverage: float | None = None) -> str:
    records = [
        {"type": "test", "nodeid": nodeid, "outcome": "passed", "when": "call"},
        {"type": "session", "exitstatus": 0, "coverage": coverage},
    ]
    return "".join(json.dumps(record) + "\n" for record in records)


@pytest.fixture
def folders(tmp_path: Path) -> ReportFolders:
    out, workspace = tmp_path / "out", tmp_path / "src"
    out.mkdir()
    workspace.mkdir()
    return ReportFolders(out, "/conveyor/out", workspace, "/conveyor/src")


def node_ids(folders: ReportFolders, commands: int, named: dict[int, tuple[str, ...]]) -> list[str]:
    results, error, _ = read_reports(folders, commands, named)
    assert error is None
    assert results is not None
    return [case.node_id for case in results.cases]


def test_the_plugin_s_report_wins_over_the_junit_xml_command_by_command(
    folders: ReportFolders,
) -> None:
    (folders.out / "pytest-0.jsonl").write_text(plugin_report("test_a.py::test_one", 87.5))
    (folders.out / "junit-0.xml").write_text(junit("not_read"))
    (folders.out / "junit-1.xml").write_text(junit("from_junit"))
    results, error, coverage = read_reports(folders, 2, {})
    assert (error, coverage) == (None, 87.5)
    assert results is not None
    assert [case.node_id for case in results.cases] == ["test_a.py::test_one", "t::from_junit"]


def test_no_report_at_all_is_no_results(folders: ReportFolders) -> None:
    assert read_reports(folders, 2, {}) == (None, None, None)


def test_a_report_that_is_a_planted_link_is_an_error_not_the_file_it_leads_to(
    folders: ReportFolders, tmp_path: Path
) -> None:
    host = tmp_path / "host.xml"
    host.write_text(junit("secret"))
    (folders.out / "junit-0.xml").symlink_to(host)
    results, error, _ = read_reports(folders, 1, {})
    assert results is None
    assert error is not None
    assert error.startswith("junit-0.xml: cannot be read")


def test_a_project_s_own_junit_files_are_read_inside_the_checkout_and_out_only(
    folders: ReportFolders, tmp_path: Path
) -> None:
    (folders.workspace / "reports").mkdir()
    (folders.workspace / "reports" / "own.xml").write_text(junit("own"))
    (folders.out / "extra.xml").write_text(junit("extra"))
    (folders.out / "junit-0.xml").write_text(junit("ours"))
    host = tmp_path / "host.xml"
    host.write_text(junit("secret"))
    (folders.workspace / "planted.xml").symlink_to(host)
    named = (
        "/conveyor/src/reports/own.xml",
        "/conveyor/src/reports/own.xml",  # said twice (two pytest runs): read once
        "/conveyor/out/extra.xml",
        "/conveyor/out/junit-0.xml",  # ours: read once, as ours
        "/conveyor/src/planted.xml",  # a link out of the checkout
        str(host),  # outside both folders
    )
    assert node_ids(folders, 1, {0: named}) == ["t::ours", "t::own", "t::extra"]


def test_the_junit_files_pytest_says_it_wrote_are_found_in_what_it_printed() -> None:
    printed = (
        "test_a.py .F\n"
        "- generated xml file: /conveyor/out/junit-0.xml -\n"
        "----------- generated xml file: /conveyor/src/reports/own xml.xml -----------\n"
        "generated xml file: /not/at/the/start.xml\n"
        "=== 1 failed, 1 passed in 0.1s ===\n"
    )
    assert named_junit_files(printed) == (
        "/conveyor/out/junit-0.xml",
        "/conveyor/src/reports/own xml.xml",
    )


def test_coverage_is_the_last_total_line_of_the_log() -> None:
    log = (
        "Name    Stmts   Miss  Cover\n"
        "TOTAL      10      5    50%\n"
        "later run\n"
        "TOTAL     120      3  97.5%\n"
        "   TOTAL is not at the start: 12%\n"
    )
    assert coverage_from_log(log) == 97.5
    assert coverage_from_log("1 passed in 0.01s\n") is None


def test_an_untrusted_file_is_read_only_when_it_is_a_regular_file_within_the_limit(
    tmp_path: Path,
) -> None:
    report = tmp_path / "report.xml"
    report.write_bytes(b"x" * 10)
    assert read_untrusted(report, 10) == b"x" * 10
    with pytest.raises(ReportError, match=r"^report\.xml: more than 9 bytes$"):
        read_untrusted(report, 9)
    link = tmp_path / "link.xml"
    link.symlink_to(report)
    with pytest.raises(ReportError, match=r"^link\.xml: cannot be read"):
        read_untrusted(link, 10)
    fifo = tmp_path / "fifo.xml"
    os.mkfifo(fifo)  # opening it does not wait for a writer
    with pytest.raises(ReportError, match=r"^fifo\.xml: not a regular file$"):
        read_untrusted(fifo, 10)
    with pytest.raises(ReportError, match=r"^missing\.xml: cannot be read"):
        read_untrusted(tmp_path / "missing.xml", 10)


def test_a_link_is_present_even_leading_nowhere_but_is_never_a_regular_file(
    tmp_path: Path,
) -> None:
    real = tmp_path / "incomplete"
    real.write_text("pre-commit hooks not fetched\n")
    link, dangling = tmp_path / "link", tmp_path / "dangling"
    link.symlink_to(real)
    dangling.symlink_to(tmp_path / "nowhere")
    assert [present(p) for p in (real, link, dangling, tmp_path / "nowhere")] == [
        True,
        True,
        True,
        False,
    ]
    assert [is_regular_file(p) for p in (real, link, dangling, tmp_path)] == [
        True,
        False,
        False,
        False,
    ]


def test_a_folder_s_size_counts_its_files_not_what_links_lead_to(tmp_path: Path) -> None:
    folder = tmp_path / "environments"
    (folder / "py" / "lib").mkdir(parents=True)
    (folder / "py" / "lib" / "module.py").write_bytes(b"x" * 1000)
    (folder / "top").write_bytes(b"x" * 24)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 100_000)
    (folder / "py" / "link").symlink_to(big)
    assert folder_size(folder) == 1024 + len(str(big))  # a link's size is its target's name


def test_a_folder_is_made_empty_without_touching_what_its_links_lead_to(tmp_path: Path) -> None:
    kept = tmp_path / "operator"
    kept.mkdir()
    (kept / "authorized_keys").write_text("ssh-ed25519 AAAA the operator\n")
    folder = tmp_path / "attempt" / "out"
    folder.mkdir(parents=True)
    (folder / "link").symlink_to(kept)
    (folder / "inner").mkdir()
    (folder / "inner" / "report.xml").write_text(junit("old"))
    make_empty(folder)
    assert list(folder.iterdir()) == []
    assert (kept / "authorized_keys").read_text() == "ssh-ed25519 AAAA the operator\n"
    new = tmp_path / "not" / "there" / "yet"
    make_empty(new)
    assert new.is_dir()
    assert list(new.iterdir()) == []
