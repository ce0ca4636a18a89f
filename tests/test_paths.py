"""Tests for btref.paths: the libtorrent sanitizing cases, Windows rules, and the promise
that no sanitized path leaves its base folder."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref.errors import MetainfoError
from btref.paths import (
    MAX_COMPONENT_BYTES,
    is_inside,
    sanitize_component,
    sanitize_path,
    unique_paths,
)


def _cases(vectors: Path) -> list[dict]:
    return json.loads((vectors / "libtorrent-bdecode-cases.json").read_text())["sanitize_path"]


def test_vectors_cover_41_cases(vectors: Path) -> None:
    assert len(_cases(vectors)) == 41


def test_libtorrent_sanitize_cases_posix(vectors: Path) -> None:
    failures = []
    for case in _cases(vectors):
        elements = [bytes.fromhex(h) for h in case["elements_hex"]]
        got = "/".join(sanitize_path(elements, windows=False)).encode()
        if got.hex() != case["expected_posix_hex"]:
            failures.append((elements, got, bytes.fromhex(case["expected_posix_hex"])))
    assert failures == []


def test_libtorrent_sanitize_cases_force_separator(vectors: Path) -> None:
    forced = [c for c in _cases(vectors) if "expected_with_force_true_hex" in c]
    assert forced
    for case in forced:
        elements = [bytes.fromhex(h) for h in case["elements_hex"]]
        got = "/".join(sanitize_path(elements, windows=False, force=True)).encode()
        assert got.hex() == case["expected_with_force_true_hex"], elements


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"plain.txt", "plain.txt"),
        ("text input", "text input"),
        (b"a/b\\c", "abc"),
        (b"/etc/passwd", "etcpasswd"),
        (b"tab\there", "tab_here"),
        (b"del\x7f", "del_"),
        (b"\xc2\x85next-line", "_next-line"),  # U+0085, a C1 control
        ("rtl\u202etxt.exe".encode(), "rtltxt.exe"),  # bidi override dropped
        (b"\xed\xa0\x80surrogate", "_surrogate"),
        (b"\xf4\x90\x80\x80big", "_big"),  # above U+10FFFF
        (b"\xfe\xffx", "__x"),
        (b"\x80lone", "_lone"),
        (b"cut\xe2\x82", "cut_"),
        (b"stop\x00hidden", "stop"),
        (b"C:", "C:"),
        ("caf\u00e9", "caf\u00e9"),
    ],
)
def test_sanitize_component_posix(raw: bytes | str, expected: str) -> None:
    assert sanitize_component(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"C:", "C_"),
        (b'a<b>c:d"e|f?g*h', "a_b_c_d_e_f_g_h"),
        (b"trailing. . ", "trailing"),
        (b"CON", "CON_"),
        (b"con.txt", "con.txt_"),
        (b"COM1", "COM1_"),
        (b"LPT9.log", "LPT9.log_"),
        (b"CONSOLE", "CONSOLE"),
        (b"...", ""),
    ],
)
def test_sanitize_component_windows(raw: bytes, expected: str) -> None:
    assert sanitize_component(raw, windows=True) == expected


def test_windows_default_follows_platform() -> None:
    assert sanitize_path([b"a:b"]) == (("a_b",) if os.name == "nt" else ("a:b",))


def test_overlong_name_keeps_extension() -> None:
    name = sanitize_component(b"x" * 300 + b".flac")
    assert name.endswith(".flac") and len(name.encode()) == MAX_COMPONENT_BYTES


def test_overlong_name_without_usable_extension() -> None:
    assert sanitize_component(b"y" * 400) == "y" * MAX_COMPONENT_BYTES
    long_ext = sanitize_component(b"a." + b"e" * 300)
    assert long_ext == ("a." + "e" * 300)[:MAX_COMPONENT_BYTES]
    assert sanitize_component(b"." + b"h" * 300) == ("." + "h" * 300)[:MAX_COMPONENT_BYTES]


def test_overlong_name_never_splits_a_character() -> None:
    name = sanitize_component(("\u00e9" * 200).encode())  # 400 bytes of 2-byte characters
    assert name == "\u00e9" * 127 and len(name.encode()) == 254


def test_keep_empty_drops_only_dots() -> None:
    assert sanitize_path([b"/", b"..", b".", b"\\\\", b"x"], keep_empty=True) == ("_", "_", "x")
    assert sanitize_path([b"/", b"..", b"x"]) == ("x",)
    assert sanitize_path([b"", b"x"]) == ("_", "x")
    assert sanitize_path(["..", "ok"]) == ("ok",)


@pytest.mark.parametrize(
    ("parts", "inside"),
    [
        (("a", "b"), True),
        (("_",), True),
        ((), False),
        (("..",), False),
        (("a", "."), False),
        (("",), False),
        (("a/b",), False),
        (("a\\b",), False),
        (("nul\0",), False),
        (("/etc",), False),
    ],
)
def test_is_inside(parts: tuple[str, ...], inside: bool) -> None:
    assert is_inside("/base", parts) is inside


elements = st.lists(st.binary(max_size=40) | st.sampled_from([b"..", b".", b"/", b"\\", b"C:", b"/..", b"a/../.."]),
                    max_size=8)


@given(elements, st.booleans(), st.booleans(), st.booleans())
def test_sanitized_paths_never_escape(raw: list[bytes], windows: bool, force: bool, keep: bool) -> None:
    parts = sanitize_path(raw, windows=windows, force=force, keep_empty=keep)
    assert all(0 < len(p.encode("utf-8", "surrogateescape")) <= MAX_COMPONENT_BYTES + 1 for p in parts)
    if parts:
        assert is_inside("/download", parts)
        assert is_inside("C:\\download" if windows else "download", parts)


@given(st.binary(max_size=300), st.booleans())
def test_sanitize_component_is_idempotent(raw: bytes, windows: bool) -> None:
    once = sanitize_component(raw, windows=windows)
    assert sanitize_component(once, windows=windows) == once


@given(st.lists(st.binary(min_size=1, max_size=12), min_size=1, max_size=4))
def test_sanitized_paths_stay_inside_on_disk(raw: list[bytes]) -> None:
    parts = sanitize_path(raw, windows=os.name == "nt", keep_empty=True)
    if not parts:
        return
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp).resolve()
        target = base.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"x")
        assert base in target.resolve().parents


# -- unique_paths ---------------------------------------------------------------------


@attrs.frozen
class _F:
    path: tuple[str, ...]
    pad: bool = False


def _paths(files: list[_F]) -> list[str]:
    return ["/".join(f.path) for f in unique_paths(files, max_renames=10)]


def test_unique_paths_renames_duplicates_before_the_extension() -> None:
    files = [_F(("t", "a.txt")), _F(("t", "a.txt")), _F(("t", "a.txt")), _F(("t", "b"))]
    assert _paths(files) == ["t/a.txt", "t/a.1.txt", "t/a.2.txt", "t/b"]


def test_unique_paths_skips_taken_candidates_and_dotfiles() -> None:
    files = [_F(("t", "a.1.txt")), _F(("t", "a.txt")), _F(("t", "a.txt")), _F(("t", ".rc")), _F(("t", ".rc"))]
    assert _paths(files) == ["t/a.1.txt", "t/a.txt", "t/a.2.txt", "t/.rc", "t/.rc.1"]


def test_unique_paths_file_named_like_a_directory_is_renamed() -> None:
    assert _paths([_F(("t", "d", "x")), _F(("t", "d"))]) == ["t/d/x", "t/d.1"]


def test_unique_paths_file_below_a_file_is_rejected() -> None:
    with pytest.raises(MetainfoError, match="below a file"):
        unique_paths([_F(("t", "d")), _F(("t", "d", "x"))], max_renames=10)


def test_unique_paths_ignores_pad_files() -> None:
    files = [_F(("t", ".pad", "5"), pad=True), _F(("t", ".pad", "5"), pad=True), _F(("t", "x"))]
    assert _paths(files) == ["t/.pad/5", "t/.pad/5", "t/x"]


def test_unique_paths_gives_up_after_the_limit() -> None:
    with pytest.raises(MetainfoError, match="more than 3 duplicate"):
        unique_paths([_F(("t", "same"))] * 5, max_renames=3)


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300))
def test_printable_ascii_only_loses_separators(text: str) -> None:
    expected = text.replace("/", "").replace("\\", "")
    got = sanitize_component(text.encode())
    if len(expected) <= MAX_COMPONENT_BYTES:
        assert got == expected
    else:
        assert len(got) == MAX_COMPONENT_BYTES
