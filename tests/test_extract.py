"""`cpualloc extract`: the real CLI in a subprocess (exit codes, stdout/stderr, atomic -o).

Expected bytes come from the fixtures made by the real compressors (tests/fixtures/compressed,
make_fixtures.py) and, for the real kernels, from `objcopy -R .comment -S vmlinux` (what
arch/x86/boot/compressed/Makefile puts in a bzImage) and the recorded `.config`s.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, need_shared, run_cli

HERE = FIXTURES / "compressed"
ELF = (HERE / "payload.elf").read_bytes()
CONFIG = (HERE / "config").read_text()


def _one_error_line(stderr: str, path: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith(f"cpualloc: error: {path}: "), lines[0]
    return lines[0]


def test_extract_vmlinuz(tmp_path: Path) -> None:
    out = tmp_path / "vmlinux"
    rc, stdout, stderr = run_cli(["extract", str(HERE / "vmlinuz-xz"), "-o", str(out)])
    assert rc == 0, stderr
    assert out.read_bytes() == ELF
    assert "vmlinuz, xz" in stdout and f"-> {len(ELF)} bytes (ELF)" in stdout
    assert stderr == ""
    assert sorted(os.listdir(tmp_path)) == ["vmlinux"]  # no temporary left behind


def test_extract_json_summary(tmp_path: Path) -> None:
    out = tmp_path / "vmlinux"
    rc, stdout, stderr = run_cli(["extract", "--format", "json", str(HERE / "bzImage-xz"), "-o", str(out)])
    assert rc == 0, stderr
    doc = json.loads(stdout)
    assert doc["kind"] == "extract" and doc["schema_version"] == 1 and doc["tool"]["name"] == "cpualloc"
    assert doc["container"] == "bzImage" and doc["codec"] == "xz"
    assert doc["decompressed_size_bytes"] == len(ELF) == doc["size_trailer_bytes"]
    assert doc["stream_offset"] == (3 + 1) * 512 + 0x100  # make_fixtures.bzimage()
    assert doc["header"]["payload_offset"] == 0x100 and doc["header"]["setup_sects"] == 3
    assert doc["payload_is_elf"] is True
    assert out.read_bytes() == ELF


def test_extract_arm64_writes_raw_payload_with_note(tmp_path: Path) -> None:
    out = tmp_path / "Image"
    rc, stdout, stderr = run_cli(["extract", str(HERE / "Image.gz"), "-o", str(out)])
    assert rc == 0
    assert out.read_bytes() == (HERE / "Image").read_bytes()
    assert "raw binary, not an ELF" in stderr and "vmlinux" in stderr
    assert "image_size" in stdout


def test_extract_plain_elf_is_refused(tmp_path: Path) -> None:
    rc, _, stderr = run_cli(["extract", str(HERE / "payload.elf"), "-o", str(tmp_path / "x")])
    assert rc == 3
    assert "already an ELF" in _one_error_line(stderr, str(HERE / "payload.elf"))
    assert not (tmp_path / "x").exists()


def test_ikconfig_to_stdout_and_file(tmp_path: Path) -> None:
    rc, stdout, stderr = run_cli(["extract", "--ikconfig", str(HERE / "configs-ko.o"), "-o", "-"])
    assert rc == 0, stderr
    assert stdout == CONFIG
    out = tmp_path / "config"
    rc, stdout, _ = run_cli(["extract", "--ikconfig", str(HERE / "config.gz"), "-o", str(out)])
    assert rc == 0
    assert out.read_text() == CONFIG
    assert f"({len(CONFIG)} bytes, {CONFIG.count(chr(10))} lines)" in stdout


def test_ikconfig_absent(tmp_path: Path) -> None:
    rc, stdout, stderr = run_cli(["extract", "--ikconfig", str(HERE / "vmlinuz-gzip"), "-o", str(tmp_path / "c")])
    assert rc == 3 and stdout == ""
    line = _one_error_line(stderr, str(HERE / "vmlinuz-gzip"))
    assert line.endswith("no embedded config (CONFIG_IKCONFIG not set)")
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("name,words", [
    ("bad-vmlinuz-xz-truncated", "corrupt xz payload at offset 2048: stream is truncated"),
    ("bad-vmlinuz-gzip-flipped", "corrupt gzip payload at offset 2048"),
    ("bad-vmlinuz-zstd-trailer-lies", "size trailer says"),
    ("bad-bzImage-xz-trailer-lies", "its size trailer states"),
    ("bad-bzImage-length-past-eof", "outside the file"),
    ("bzImage-bomb", "claims 4294967295 bytes, above the 1073741824-byte cap"),
    ("config", "not a kernel image"),
])
def test_bad_input_exit_3_one_line_no_partial_file(tmp_path: Path, name: str, words: str) -> None:
    out = tmp_path / "vmlinux"
    rc, stdout, stderr = run_cli(["extract", str(HERE / name), "-o", str(out)])
    assert rc == 3
    assert stdout == ""
    assert words in _one_error_line(stderr, str(HERE / name))
    assert os.listdir(tmp_path) == []


def test_bomb_stops_at_max_size(tmp_path: Path) -> None:
    """~1.5 KB claiming 4 GiB (and decoding to 1.25 GiB): stops at the cap, exit 3."""
    assert (HERE / "bomb-vmlinuz.bz2").stat().st_size < 2048
    out = tmp_path / "vmlinux"
    # 80 MiB is past the 64 MiB ratio floor: an explicit --max-size replaces the ratio bound.
    rc, _, stderr = run_cli(["extract", "--max-size", "80MiB", str(HERE / "bomb-vmlinuz.bz2"), "-o", str(out)])
    assert rc == 3
    assert "decodes to more than the 83886080-byte cap" in _one_error_line(stderr, str(HERE / "bomb-vmlinuz.bz2"))
    assert os.listdir(tmp_path) == []


def test_bomb_stops_at_ratio_bound_by_default(tmp_path: Path) -> None:
    rc, _, stderr = run_cli(["extract", str(HERE / "bomb-vmlinuz.bz2"), "-o", str(tmp_path / "v")])
    assert rc == 3
    assert "decompression bomb" in _one_error_line(stderr, str(HERE / "bomb-vmlinuz.bz2"))
    assert os.listdir(tmp_path) == []


def test_failed_output_leaves_existing_file_intact(tmp_path: Path) -> None:
    out = tmp_path / "vmlinux"
    out.write_bytes(b"precious")
    rc, _, _ = run_cli(["extract", str(HERE / "bad-vmlinuz-xz-truncated"), "-o", str(out)])
    assert rc == 3
    assert out.read_bytes() == b"precious"
    rc, _, _ = run_cli(["extract", "--ikconfig", str(HERE / "payload.elf"), "-o", str(out)])
    assert rc == 3
    assert out.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == ["vmlinux"]


def test_missing_input_and_directory(tmp_path: Path) -> None:
    rc, _, stderr = run_cli(["extract", str(tmp_path / "nope"), "-o", str(tmp_path / "o")])
    assert rc == 3 and "no such file" in _one_error_line(stderr, str(tmp_path / "nope"))
    rc, _, stderr = run_cli(["extract", str(tmp_path), "-o", str(tmp_path / "o")])
    assert rc == 3 and "is a directory" in _one_error_line(stderr, str(tmp_path))


@pytest.mark.parametrize("args", [
    ["extract", str(HERE / "vmlinuz-xz")],                                    # -o is required
    ["extract", str(HERE / "vmlinuz-xz"), "-o", "-"],                         # binary to stdout
    ["extract", "--ikconfig", "--format", "json", str(HERE / "config.gz"), "-o", "-"],
    ["extract", "--max-size", "lots", str(HERE / "vmlinuz-xz"), "-o", "x"],
])
def test_usage_errors(args: list[str]) -> None:
    rc, stdout, stderr = run_cli(args)
    assert rc == 2
    assert stdout == ""
    assert "Traceback" not in stderr


@pytest.mark.realkernel
def test_real_bzimage_extracts_to_objcopy_output(tmp_path: Path, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    kernels = need_shared()
    out = tmp_path / "vmlinux.bin"
    rc, stdout, stderr = run_cli(["extract", str(kernels / "x86_64-tiny" / "bzImage"), "-o", str(out)])
    assert rc == 0, stderr
    assert "bzImage, xz, 533152 -> 11216728 bytes (ELF)" in stdout  # 0x822a0 -> 0xab2758, see test_decompress
    if shutil.which("objcopy") is None:
        pytest.skip("objcopy not installed (the section headers are checked in test_decompress)")
    ref = tmp_path / "ref"
    subprocess.run(["objcopy", "-R", ".comment", "-S", str(kernel_vmlinux("x86_64-tiny")), str(ref)], check=True)
    assert out.read_bytes() == ref.read_bytes()


@pytest.mark.realkernel
def test_real_sparc64_ikconfig_cli(tmp_path: Path) -> None:
    kernels = need_shared()
    out = tmp_path / "config"
    rc, _, stderr = run_cli(["extract", "--ikconfig", str(kernels / "sparc64-tiny-nr64" / "vmlinux.xz"), "-o", str(out)])
    assert rc == 0, stderr
    assert out.read_bytes() == (kernels / "sparc64-tiny-nr64" / "config").read_bytes()


def test_output_mode_is_not_mkstemp_0600(tmp_path: Path) -> None:
    """A new file gets the mode open() would give (0666 & ~umask); an existing file keeps its mode."""
    new = tmp_path / "new"
    rc, _, _ = run_cli(["extract", str(HERE / "vmlinuz-xz"), "-o", str(new)])
    assert rc == 0
    umask = os.umask(0)
    os.umask(umask)
    assert new.stat().st_mode & 0o777 == 0o666 & ~umask
    old = tmp_path / "old"
    old.write_bytes(b"x")
    old.chmod(0o640)
    rc, _, _ = run_cli(["extract", str(HERE / "vmlinuz-xz"), "-o", str(old)])
    assert rc == 0
    assert old.stat().st_mode & 0o777 == 0o640 and old.read_bytes() == ELF


def test_output_refuses_symlink_and_fifo(tmp_path: Path) -> None:
    """-o never writes through a symlink (a planted link would let the rename replace its
    target) and refuses a FIFO with exit 3 without opening it (issue 17; more cases in
    tests/test_hostile_io.py)."""
    import stat

    real = tmp_path / "real"
    real.write_bytes(b"old")
    link = tmp_path / "link"
    link.symlink_to(real)
    rc, _, stderr = run_cli(["extract", str(HERE / "vmlinuz-xz"), "-o", str(link)])
    assert rc == 3 and "is a symbolic link" in stderr
    assert link.is_symlink() and real.read_bytes() == b"old"

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    rc, _, stderr = run_cli(["extract", str(HERE / "vmlinuz-xz"), "-o", str(fifo)])  # no reader: must not hang
    assert rc == 3 and "is a FIFO" in stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("name,fmt,ikconfig", [
    ("bzImage-xz", "text", False), ("bzImage-xz", "json", False), ("Image.gz", "text", False),
    ("Image.gz", "json", False), ("zImage", "text", False), ("configs-ko.o", "json", True),
])
def test_golden_summaries(tmp_path: Path, name: str, fmt: str, ikconfig: bool) -> None:
    """Golden text/JSON summaries (tests/fixtures/compressed/golden, checked by eye against the
    fixture layouts: e.g. bzImage-xz stream at (3+1)*512+0x100 = 2304, init_size 16128+0x10000)."""
    out = tmp_path / "OUT"
    args = ["extract", "--format", fmt, *(["--ikconfig"] if ikconfig else []), str(HERE / name), "-o", str(out)]
    rc, stdout, _ = run_cli(args)
    assert rc == 0
    got = stdout.replace(f"{HERE}/", "").replace(str(out), "OUT")
    suffix = "txt" if fmt == "text" else "json"
    prefix = "extract-ikconfig-" if ikconfig else "extract-"
    assert got == (HERE / "golden" / f"{prefix}{name}.{suffix}").read_text()
