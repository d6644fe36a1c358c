"""app/suite/in_sandbox/conveyor_pytest/only.py: which collected tests `CONVEYOR_ONLY` keeps.
(Deselection in a real pytest run: tests/suite/in_sandbox/test_conveyor_pytest.py.)"""

from __future__ import annotations

from pathlib import Path

from app.suite.in_sandbox.conveyor_pytest.only import read_only_list, selected, split_nodeid

ONLY = frozenset(
    {
        "tests/test_a.py::test_one",
        "tests/test_b.py",
        "tests/test_c.py::TestC",
        "tests/test_d.py::test_x[1]",
        "tests/test_e.py::test_y[a::b]",
    }
)


def test_a_listed_node_id_is_kept_and_its_neighbours_are_not() -> None:
    assert selected("tests/test_a.py::test_one", ONLY)
    assert not selected("tests/test_a.py::test_two", ONLY)
    assert not selected("tests/test_a.py::test_one_more", ONLY)


def test_a_listed_module_or_class_keeps_everything_under_it() -> None:
    assert selected("tests/test_b.py::test_anything", ONLY)
    assert selected("tests/test_b.py::TestB::test_method[3]", ONLY)
    assert selected("tests/test_c.py::TestC::test_method", ONLY)
    assert not selected("tests/test_c.py::TestCD::test_method", ONLY)
    assert not selected("tests/test_b.pyc::test_x", ONLY)


def test_a_parameter_is_never_a_prefix_of_another() -> None:
    assert selected("tests/test_d.py::test_x[1]", ONLY)
    assert not selected("tests/test_d.py::test_x[10]", ONLY)
    assert not selected("tests/test_d.py::test_x", ONLY)


def test_colons_inside_parameter_ids_do_not_split() -> None:
    assert split_nodeid("tests/test_e.py::test_y[a::b]") == ["tests/test_e.py", "test_y[a::b]"]
    assert split_nodeid("t.py::C::test[x::y-1]") == ["t.py", "C", "test[x::y-1]"]
    assert split_nodeid("t.py") == ["t.py"]
    assert selected("tests/test_e.py::test_y[a::b]", ONLY)
    assert not selected("tests/test_e.py::test_y[a::bc]", ONLY)


def test_the_list_is_its_non_blank_lines(tmp_path: Path) -> None:
    listed = tmp_path / "only.txt"
    listed.write_text("  t.py::test_a  \n\n\nt.py::test_b\n", encoding="utf-8")
    assert read_only_list(str(listed)) == frozenset({"t.py::test_a", "t.py::test_b"})
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    assert read_only_list(str(empty)) == frozenset()  # a list, though empty: nothing is kept


def test_no_list_or_an_unreadable_one_keeps_everything(tmp_path: Path) -> None:
    assert read_only_list("") is None
    assert read_only_list(str(tmp_path / "missing.txt")) is None
    assert read_only_list(str(tmp_path)) is None  # a folder
    undecodable = tmp_path / "latin1.txt"
    undecodable.write_bytes(b"t.py::test_\xe9\n")
    assert read_only_list(str(undecodable)) is None
