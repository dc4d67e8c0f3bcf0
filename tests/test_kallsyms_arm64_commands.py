"""diff and check on Debian's 6.1 arm64 Image (a raw payload: no ELF, no section headers; its
kallsyms holds the text symbols, Debian builds arm64 without KALLSYMS_ALL). The commands use the
kallsyms symbols, and never call the stand-in sections' totals GNU size: they are spans between
the bound symbols (_stext/_etext, _sinittext/_einittext), and without an `_end` symbol there is
no image extent. The image_size in the Image header (Documentation/arch/arm64/booting.rst:80,
a u64 at offset 0x10) is read from the file here, as the oracle for check's image_size.
Skips without CPUALLOC_DEBIAN_ARM64_DIR (the extracted linux-image-6.1.0-50-arm64)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from conftest import run_cli
from test_bootmem_arm64 import _arm64_dir

pytestmark = pytest.mark.realkernel


def image() -> Path:
    return _arm64_dir() / "vmlinuz-6.1.0-50-arm64"


def test_check_labels_spans_and_reads_the_header() -> None:
    path = image()
    rc, out, err = run_cli(["check", "--format", "json", str(path)])
    assert rc == 0, err
    doc = json.loads(out)
    src = doc["measure_sources"]
    for k in ("text", "data", "bss", "total"):
        assert "not GNU size" in src[k] and "GNU size (Berkeley)" not in src[k]
    assert "image_extent" not in doc["measures"]  # no _end in a text-only kallsyms
    header = path.read_bytes()[:64]
    assert header[56:60] == b"ARM\x64"  # the arm64 Image magic (booting.rst)
    assert doc["measures"]["image_size"] == struct.unpack_from("<Q", header, 0x10)[0]


def test_diff_of_the_image_with_itself() -> None:
    path = image()
    rc, out, err = run_cli(["diff", "--format", "json", str(path), str(path)])
    assert rc == 0, err
    doc = json.loads(out)
    rows = {m["measure"]: m for m in doc["measures"]}
    assert "image_extent" not in rows
    assert all("not GNU size" in rows[k]["source"] for k in ("text", "data", "bss", "total"))
    assert all(m["old_bytes"] == m["new_bytes"] and m["delta_bytes"] == 0 for m in doc["measures"])
    assert rows["text"]["old_bytes"] > 0
