"""Bad input to `inspect`: each case exits 3 with one line naming the file and the problem,
no traceback, nothing on stdout (PRODUCT.md exit codes; issue 2 item 5)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli

SRC = FIXTURES / "elf" / "x86_64-smp" / "vmlinux"  # ELF64 little-endian


def _shdr(data: bytes, index: int) -> tuple[int, tuple[int, ...]]:
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    off = shoff + 64 * index
    return off, struct.unpack_from("<IIQQQQIIQQ", data, off)


def _section_index(data: bytes, name: str) -> int:
    shnum = struct.unpack_from("<H", data, 0x3C)[0]
    shstrndx = struct.unpack_from("<H", data, 0x3E)[0]
    _, strh = _shdr(data, shstrndx)
    strtab = data[strh[4]:strh[4] + strh[5]]
    for i in range(shnum):
        _, h = _shdr(data, i)
        end = strtab.index(b"\0", h[0])
        if strtab[h[0]:end].decode() == name:
            return i
    raise KeyError(name)


def _set_shdr_field(data: bytearray, index: int, field: int, value: int) -> None:
    off, h = _shdr(bytes(data), index)
    fields = list(h)
    fields[field] = value
    struct.pack_into("<IIQQQQIIQQ", data, off, *fields)


def section_beyond_eof(d: bytearray) -> None:
    _set_shdr_field(d, _section_index(bytes(d), ".data"), 4, 1 << 31)  # sh_offset


def section_size_beyond_eof(d: bytearray) -> None:
    _set_shdr_field(d, _section_index(bytes(d), ".data"), 5, 1 << 63)  # sh_size


def shnum_too_big(d: bytearray) -> None:
    struct.pack_into("<H", d, 0x3C, 0xFEFF)


def shstrndx_out_of_range(d: bytearray) -> None:
    shnum = struct.unpack_from("<H", d, 0x3C)[0]
    struct.pack_into("<H", d, 0x3E, shnum + 5)


def shoff_beyond_eof(d: bytearray) -> None:
    struct.pack_into("<Q", d, 0x28, len(d) + 4096)


def symtab_entsize_wrong(d: bytearray) -> None:
    _set_shdr_field(d, _section_index(bytes(d), ".symtab"), 9, 23)  # sh_entsize


def strtab_unterminated(d: bytearray) -> None:
    _, h = _shdr(bytes(d), _section_index(bytes(d), ".strtab"))
    d[h[4] + h[5] - 1] = ord("A")


def phnum_beyond_eof(d: bytearray) -> None:
    struct.pack_into("<H", d, 0x38, 0xFFFF)


CASES: list[tuple[str, Callable[[bytearray], None], str]] = [
    ("section-offset", section_beyond_eof, "extends beyond the end of the file"),
    ("section-size", section_size_beyond_eof, "extends beyond the end of the file"),
    ("shnum", shnum_too_big, "section headers at offset"),
    ("shstrndx", shstrndx_out_of_range, "section name table index"),
    ("shoff", shoff_beyond_eof, "beyond the end of the file"),
    ("symtab-entsize", symtab_entsize_wrong, "entry size"),
    ("strtab-nul", strtab_unterminated, "does not end with a NUL"),
    ("phnum", phnum_beyond_eof, "program headers at offset"),
]


def _assert_one_line_error(rc: int, out: str, err: str, path: Path | str, needle: str) -> None:
    assert rc == 3, err
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"cpualloc: error: {path}: "), lines[0]
    assert needle in lines[0]


@pytest.mark.parametrize(("label", "mutate", "needle"), CASES, ids=[c[0] for c in CASES])
def test_corrupt_elf_exits_3(label: str, mutate: Callable[[bytearray], None], needle: str, tmp_path: Path) -> None:
    data = bytearray(SRC.read_bytes())
    mutate(data)
    bad = tmp_path / f"{label}.elf"
    bad.write_bytes(bytes(data))
    rc, out, err = run_cli(["inspect", str(bad)])
    _assert_one_line_error(rc, out, err, bad, needle)


def test_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "nope"
    _assert_one_line_error(*run_cli(["inspect", str(p)]), p, "no such file")


def test_directory(tmp_path: Path) -> None:
    _assert_one_line_error(*run_cli(["inspect", str(tmp_path)]), tmp_path, "is a directory")


def test_not_elf(tmp_path: Path) -> None:
    p = tmp_path / "notes.txt"
    p.write_text("not an elf at all, and no compressed payload either\n")
    rc, out, err = run_cli(["inspect", str(p)])
    assert rc == 3 and out == "" and "Traceback" not in err
    assert err.startswith(f"cpualloc: error: {p}: ") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("length", [1, 4, 7, 16, 40, 63])
def test_truncated_header(length: int, tmp_path: Path) -> None:
    p = tmp_path / f"trunc{length}"
    p.write_bytes(SRC.read_bytes()[:length])
    rc, out, err = run_cli(["inspect", str(p)])
    assert rc == 3 and out == "" and "Traceback" not in err
    assert err.startswith(f"cpualloc: error: {p}: ") and len(err.strip().splitlines()) == 1


def test_truncated_file_mid_sections(tmp_path: Path) -> None:
    data = SRC.read_bytes()
    p = tmp_path / "half"
    p.write_bytes(data[: len(data) // 2])
    rc, out, err = run_cli(["inspect", str(p)])
    assert rc == 3 and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_traceback_flag_shows_traceback(tmp_path: Path) -> None:
    p = tmp_path / "t"
    p.write_bytes(b"\x7fELF\x02\x01\x01")
    rc, _, err = run_cli(["--traceback", "inspect", str(p)])
    assert rc == 3 and "Traceback" in err and err.strip().splitlines()[-1].startswith("cpualloc: error:")


def test_usage_error_is_exit_2() -> None:
    rc, _, err = run_cli(["inspect"])
    assert rc == 2 and "Traceback" not in err
    rc, _, err = run_cli(["inspect", "--top", "-1", "x"])
    assert rc == 2


def test_failed_run_leaves_existing_output_intact(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text("precious\n")
    rc, _, _ = run_cli(["inspect", "--format", "json", "-o", str(out), str(tmp_path / "missing")])
    assert rc == 3
    assert out.read_text() == "precious\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_output_written_atomically(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    rc, stdout, err = run_cli(["inspect", "--format", "json", "-o", str(out), str(SRC)])
    assert rc == 0, err
    assert stdout == ""
    assert out.read_text().startswith("{")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
