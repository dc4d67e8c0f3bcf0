"""Resource bounds on hostile input (issue 7), each run through the real CLI in a child process
under real limits (RLIMIT_AS, RLIMIT_FSIZE): a bound that only holds with unlimited memory
is not a bound.

Covered elsewhere, not repeated here:
* decompression cap, in process and through `cpualloc extract` (a 1.5 KB bzip2 claiming
  4 GiB stops at the cap with exit 3): tests/test_decompress.py::
  test_bomb_stops_at_the_cap_with_little_memory and tests/test_extract.py::
  test_bomb_stops_at_max_size; here only the same bomb under a 512 MiB address-space limit;
* `$(shell,...)` not run without --allow-shell (marker files, and run with it so the test
  can fail): tests/test_kconfig_cli.py::test_shell_not_run_without_allow_shell;
* a failed run leaves an existing --output file intact: tests/test_extract.py::
  test_failed_output_leaves_existing_file_intact and tests/test_inspect_bad_input.py::
  test_failed_run_leaves_existing_output_intact; here only the case where the write itself
  fails (RLIMIT_FSIZE), after the report was computed.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO

sys.path.insert(0, str(REPO / "fuzz"))
import mutators as M  # noqa: E402

AS_LIMIT = 512 << 20
X86_64 = FIXTURES / "elf" / "x86_64-smp" / "vmlinux"
GOOD_CONFIG = REPO / "samples" / "sparc64-nr64-static.config"


def run_limited(args: list[str], cwd: Path, *, as_bytes: int = AS_LIMIT, fsize_bytes: int = 1 << 30,
                env: dict[str, str] | None = None) -> tuple[int, str, str]:
    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (as_bytes, as_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_bytes, fsize_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (60, 60))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    full = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
    full.update({"NO_COLOR": "1", "OPENBLAS_NUM_THREADS": "1", "HOME": str(cwd), "TMPDIR": str(cwd)})
    full.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "cpualloc_cli", *args], cwd=cwd, env=full, capture_output=True,
                          text=True, preexec_fn=limits, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def one_error(stderr: str, path: Path | str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    prefix = f"cpualloc: error: {path}"
    assert lines[0].startswith(prefix), stderr
    return lines[0]


# --- ELF: reads clamped to the file size, counts bounded by what the file can hold ----------


def _sections_by_name(data: bytes) -> dict[str, int]:
    lay = M.elf_layout(data)
    assert lay is not None
    offs = M._sections(lay)
    shstrndx = struct.unpack_from(lay.fmt + "H", data, 62 if lay.bits == 64 else 50)[0]
    strtab = M._section_header(data, lay, offs[shstrndx])
    names = {}
    for off in offs:
        h = M._section_header(data, lay, off)
        start = strtab["sh_offset"] + h["sh_name"]
        names[data[start:data.index(b"\0", start)].decode()] = off
    return names


def _set_section_field(data: bytes, section: str, field: str, value: int) -> bytes:
    lay = M.elf_layout(data)
    assert lay is not None
    off, width = lay.section_fields[field]
    out = bytearray(data)
    assert M._put(out, _sections_by_name(data)[section] + off, width, value, lay.fmt)
    return bytes(out)


@pytest.mark.parametrize(("section", "size"), [(".data", 1 << 40), (".symtab", (1 << 63) + 24), (".strtab", 1 << 32)])
def test_section_claiming_a_huge_size_is_refused_without_allocating(tmp_path: Path, section: str, size: int) -> None:
    data = X86_64.read_bytes()
    bad = tmp_path / "huge.elf"
    bad.write_bytes(_set_section_field(data, section, "sh_size", size))
    rc, out, err = run_limited(["inspect", str(bad)], tmp_path)
    assert rc == 3 and out == ""
    line = one_error(err, bad)
    # under a 512 MiB address-space limit a read or allocation of the claimed size would have
    # failed with MemoryError instead of this extent check
    assert f"{section} (offset " in line and f"size {size}) extends beyond the end of the file ({len(data)} bytes)" in line


def test_section_count_is_bounded_by_the_file(tmp_path: Path) -> None:
    data = X86_64.read_bytes()
    lay = M.elf_layout(data)
    assert lay is not None and lay.bits == 64
    out = bytearray(data)
    struct.pack_into("<H", out, 60, 0xFFFF)  # e_shnum
    bad = tmp_path / "shnum.elf"
    bad.write_bytes(bytes(out))
    rc, _, err = run_limited(["inspect", str(bad)], tmp_path)
    assert rc == 3
    line = one_error(err, bad)
    assert f"65535 section headers at offset {lay.shoff} do not fit in the file ({len(data)} bytes)" in line


def test_extended_section_count_is_bounded_by_the_file(tmp_path: Path) -> None:
    """e_shnum = 0: the real count is section 0's sh_size (ELF gABI); 2^32 - 1 of them do not fit."""
    data = X86_64.read_bytes()
    lay = M.elf_layout(data)
    assert lay is not None
    out = bytearray(data)
    struct.pack_into("<H", out, 60, 0)
    struct.pack_into("<Q", out, lay.shoff + 32, 0xFFFFFFFF)  # section 0 sh_size (64-bit: offset 32)
    bad = tmp_path / "xnum.elf"
    bad.write_bytes(bytes(out))
    rc, _, err = run_limited(["inspect", str(bad)], tmp_path)
    assert rc == 3
    assert "4294967295 section headers" in one_error(err, bad)


def test_symbol_entry_size_must_match_the_class(tmp_path: Path) -> None:
    bad = tmp_path / "entsize.elf"
    bad.write_bytes(_set_section_field(X86_64.read_bytes(), ".symtab", "sh_entsize", 1))
    rc, _, err = run_limited(["inspect", str(bad)], tmp_path)
    assert rc == 3
    assert "symbol table entry size 1, expected 24" in one_error(err, bad)


def test_section_name_offsets_are_checked_before_pyelftools_reads_them(tmp_path: Path) -> None:
    """Found by fuzz/run.py: pyelftools seeked past the end ('seek out of range')."""
    bad = tmp_path / "name.elf"
    bad.write_bytes(_set_section_field(X86_64.read_bytes(), ".data", "sh_name", 0x80000000))
    rc, _, err = run_limited(["inspect", str(bad)], tmp_path)
    assert rc == 3
    assert "name offset 2147483648 is beyond the section name table" in one_error(err, bad)


def test_compressed_section_header_beyond_the_file(tmp_path: Path) -> None:
    """Found by fuzz/run.py: SHF_COMPRESSED (0x800) makes pyelftools parse an Elf_Chdr at
    sh_offset; on .bss (NOBITS, so no extent check) at the end of the file it read past it."""
    data = X86_64.read_bytes()
    flagged = _set_section_field(data, ".bss", "sh_flags", 0x3 | 0x800)
    bad = tmp_path / "chdr.elf"
    bad.write_bytes(_set_section_field(flagged, ".bss", "sh_offset", len(data) - 4))
    rc, _, err = run_limited(["inspect", str(bad)], tmp_path)
    assert rc == 3
    assert f"is SHF_COMPRESSED but its compression header (offset {len(data) - 4}) is beyond" in one_error(err, bad)


# --- decompression under a real memory limit ----------------------------------------------------


def test_bomb_stops_at_the_cap_under_an_address_space_limit(tmp_path: Path) -> None:
    bomb = FIXTURES / "compressed" / "bomb-vmlinuz.bz2"
    assert bomb.stat().st_size < 2048
    out = tmp_path / "vmlinux"
    rc, _, err = run_limited(["extract", "--max-size", "80MiB", str(bomb), "-o", str(out)], tmp_path)
    assert rc == 3
    assert "decodes to more than the 83886080-byte cap" in one_error(err, bomb)  # 80 * 2^20
    assert not out.exists()


# --- Kconfig: recursion, nesting, paths ----------------------------------------------------------


def _tree(tmp_path: Path, extra: str, name: str = "tree") -> Path:
    tree = tmp_path / name
    tree.mkdir()
    for p in (REPO / "kconfig").glob("Kconfig*"):
        shutil.copyfile(p, tree / p.name)
    (tree / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\n")
    with open(tree / "Kconfig", "a") as fh:
        fh.write(extra)
    return tree


def _config(tree: Path, cwd: Path) -> tuple[int, str, str]:
    return run_limited(["config", "--srctree", str(tree), "--arch", "sparc64", "--config", str(GOOD_CONFIG)], cwd)


def test_recursive_kconfig_source_is_an_error(tmp_path: Path) -> None:
    tree = _tree(tmp_path, 'source "Kconfig"\n')
    rc, out, err = _config(tree, tmp_path)
    assert rc == 3 and out == ""
    line = one_error(err, tree / "Kconfig")
    assert "recursive 'source' of 'Kconfig'" in line


# 9,000 terms: a 63 KB line, under the 64 KiB logical-line budget (a longer one stops there first)
@pytest.mark.parametrize("expr", ["(" * 20000 + "SMP" + ")" * 20000, " && ".join(["SMP"] * 9000)],
                         ids=["parentheses", "long-and"])
def test_deeply_nested_kconfig_expression_is_fenced(tmp_path: Path, expr: str) -> None:
    tree = _tree(tmp_path, f"config DEEP\n\tbool\n\tdepends on {expr}\n")
    rc, out, err = _config(tree, tmp_path)
    assert rc == 3 and out == ""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err and "internal error" not in err
    assert "nested too deeply" in lines[0]


def test_deeply_nested_kconfig_expression_names_the_file(tmp_path: Path) -> None:
    tree = _tree(tmp_path, "config DEEP\n\tbool\n\tdepends on " + "(" * 20000 + "SMP" + ")" * 20000 + "\n")
    _, _, err = _config(tree, tmp_path)
    one_error(err, tree / "Kconfig")


@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_kconfig_source_does_not_escape_the_tree(tmp_path: Path, how: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Kconfig").write_text('config OUTSIDE_SYMBOL\n\tbool "outside"\n\tdefault y\n')
    target = "../outside/Kconfig" if how == "relative" else str(outside / "Kconfig")
    tree = _tree(tmp_path, f'source "{target}"\n')
    rc, out, err = _config(tree, tmp_path)
    assert "OUTSIDE_SYMBOL" not in out
    assert rc == 3
    one_error(err, tree / "Kconfig")


def test_policy_file_has_no_path_keys(tmp_path: Path) -> None:
    """The policy schema holds no paths, so nothing in it can point outside the project: a key
    that looks like an include is an unknown key (exit 3), and the named file is not read."""
    secret = tmp_path / "secret.toml"
    secret.write_text("[[waiver]]\nrule = \"x\"\nreason = \"should never be read\"\n")
    policy = tmp_path / "cpualloc.toml"
    policy.write_text(f'include = "{secret}"\n')
    rc, _, err = run_limited(["check", "--config", str(GOOD_CONFIG), "--policy", str(policy)], tmp_path)
    assert rc == 3
    assert "include: unknown key" in one_error(err, policy)


# --- writing output safely -------------------------------------------------------------------------


def test_output_write_failure_leaves_the_existing_file_intact(tmp_path: Path) -> None:
    """RLIMIT_FSIZE of 100 bytes: writing the report fails with EFBIG after it is computed."""
    out = tmp_path / "report.txt"
    out.write_text("KEEP\n")
    rc, stdout, err = run_limited(["inspect", str(X86_64), "-o", str(out)], tmp_path, fsize_bytes=100)
    assert rc == 3 and stdout == ""
    assert "cannot write output: File too large" in one_error(err, out)
    assert out.read_text() == "KEEP\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".cpualloc-")] == []
