"""Placement against the kernel's own boot rules, every expected figure worked out by hand here:
- arm64: Documentation/arch/arm64/booting.rst:135-140 (6.12; 6.1: Documentation/arm64/booting.rst:135-140):
  the Image sits text_offset above a 2 MiB aligned base; image_size bytes from its start must be free;
- arm: Documentation/arch/arm/booting.rst:137-142,174-175 and arch/arm/boot/compressed/head.S:261-281:
  the decompressor's RAM start is (zImage address & 0xf8000000), the kernel goes to it + TEXT_OFFSET
  (0x8000), 16 KiB of page tables below; the zImage must be in the first 128 MiB of RAM;
- x86: Documentation/arch/x86/boot.rst:885-911: runtime_start = align_up(max(load, pref_address),
  kernel_alignment); init_size bytes from it."""

from __future__ import annotations

import struct
from pathlib import Path

from conftest import cli_json

from cpualloc_cli.adapters.image import read_boot_facts
from cpualloc_cli.adapters.limits_loader import load_database
from cpualloc_cli.analysis.placement import PlacementInputs, evaluate_placement
from cpualloc_cli.model.boot import BootFacts
from cpualloc_cli.model.findings import Severity
from cpualloc_cli.model.limits import LimitOutcome, Status

MiB = 1 << 20


def place(rule: str, arch: str, kernel: BootFacts, p: PlacementInputs) -> LimitOutcome:
    lim = next(x for x in load_database() if x.id == rule)
    blank = LimitOutcome(rule=lim.id, title=lim.title, status=Status.PASS, severity=Severity.ERROR, measure=lim.measure,
                         measured=None, bound=None, margin=None, unit="bytes", basis="", arithmetic=(), fixes=(),
                         sources=lim.sources, note=lim.note)
    return evaluate_placement(lim, arch, kernel, p, blank)


def arm64(image_size: int, text_offset: int = 0) -> BootFacts:
    return BootFacts("Image", "arm64-image", {"file_bytes": 1, "image_size": image_size, "text_offset": text_offset})


def test_arm64_dtb_inside_image_size() -> None:
    # load 0x40400000, image_size 42 MiB = 0x2a00000: the kernel needs 0x40400000..0x42e00000.
    # A 64 KiB DTB at 0x42000000 lies inside: overlap 0x42000000..0x42010000 = 65536 B.
    out = place("arm64.image-size-placement", "arm64", arm64(0x2A00000),
                PlacementInputs(load_addr=0x40400000, dtb_addr=0x42000000, dtb_size=0x10000))
    assert out.status is Status.FAIL
    text = "\n".join(out.arithmetic)
    assert "overlaps the kernel (image_size) 0x40400000..0x42e00000 by 64.00 KiB (65536 B) (0x42000000..0x42010000)" in text
    assert out.fixes[0].value == 0x42E00000  # the lowest (8-byte aligned) DTB address past load + image_size


def test_arm64_rpi_boundary() -> None:
    # rpi preset: load 0x80000, fdt 0x2600000: room 0x2580000 = 39,321,600 B
    p = PlacementInputs(load_addr=0x80000, dtb_addr=0x2600000, dtb_size=0x8000, ram_base=0)
    at = place("arm64.image-size-placement", "arm64", arm64(0x2580000, 0x80000), p)
    assert at.status is Status.PASS and at.bound == 0x2580000 and at.margin == 0
    over = place("arm64.image-size-placement", "arm64", arm64(0x2580001, 0x80000), p)
    assert over.status is Status.FAIL and over.margin == -1
    assert any("by 1 B (0x2600000..0x2600001)" in line for line in over.arithmetic)


def test_arm64_base_must_be_2mib_aligned() -> None:
    # load 0x40480000 - text_offset 0 = 0x40480000, not a multiple of 0x200000; the next good one is 0x40600000
    out = place("arm64.image-size-placement", "arm64", arm64(16 * MiB),
                PlacementInputs(load_addr=0x40480000, ram_base=0x40000000, ram_size=1 << 30))
    assert out.status is Status.FAIL
    assert out.fixes[0].value == 0x40600000


def test_arm_zimage_outside_first_128mib() -> None:
    # RAM at 0x80000000: the first 128 MiB end at 0x88000000; a zImage at 0x88000000 is outside
    z = BootFacts("zImage", "arm-zimage", {"file_bytes": 1, "decompressed_size": 16 * MiB, "bss_size": MiB})
    out = place("arm.zimage-placement", "arm", z, PlacementInputs(load_addr=0x88000000, ram_base=0x80000000,
                                                                 ram_size=512 * MiB))
    assert out.status is Status.FAIL
    assert any("outside the first 128 MiB of RAM (0x80000000..0x88000000)" in line for line in out.arithmetic)


def test_arm_zimage_decompresses_over_its_dtb() -> None:
    # zImage at 0x82000000: RAM start 0x82000000 & 0xf8000000 = 0x80000000; kernel at 0x80008000;
    # footprint 0x80004000 .. 0x80008000 + 16 MiB + 1 MiB BSS = 0x81108000. A DTB at 0x81000000 (64 KiB)
    # is inside: overlap 0x81000000..0x81010000.
    z = BootFacts("zImage", "arm-zimage", {"file_bytes": 1, "decompressed_size": 16 * MiB, "bss_size": MiB})
    out = place("arm.zimage-placement", "arm", z, PlacementInputs(load_addr=0x82000000, ram_base=0x80000000,
                                                                 dtb_addr=0x81000000, dtb_size=0x10000))
    assert out.status is Status.FAIL
    text = "\n".join(out.arithmetic)
    assert "0x80004000..0x81108000" in text and "(0x81000000..0x81010000)" in text
    assert out.fixes[0].value == 0x81108000
    # the safe location the document recommends (just above the 128 MiB boundary: 0x88000000) is clear
    ok = place("arm.zimage-placement", "arm", z, PlacementInputs(load_addr=0x82000000, ram_base=0x80000000,
                                                                dtb_addr=0x88000000, dtb_size=0x10000))
    assert ok.status is Status.PASS


def test_x86_init_size_window() -> None:
    # load 0x100000, pref_address 0x1000000, kernel_alignment 0x200000, relocatable:
    # runtime_start = align_up(max(0x100000, 0x1000000), 0x200000) = 0x1000000; init_size 0x2000000 -> 0x3000000.
    bz = BootFacts("bzImage", "bzImage", {"file_bytes": 1, "init_size": 0x2000000, "pref_address": 0x1000000,
                                          "kernel_alignment": 0x200000, "relocatable_kernel": 1})
    out = place("x86.init-size-placement", "x86_64", bz, PlacementInputs(load_addr=0x100000, initrd_addr=0x2800000,
                                                                        initrd_size=0x1000000, ram_base=0,
                                                                        ram_size=0x2000000))
    assert out.status is Status.FAIL
    text = "\n".join(out.arithmetic)
    assert "= 0x1000000" in text  # runtime_start
    assert "(0x2800000..0x3000000)" in text  # the initrd overlap: 8 MiB
    assert "runs outside RAM 0x0..0x2000000" in text
    assert any(f.value == 0x1000000 for f in out.fixes)  # largest footprint from 0x1000000 that fits in 32 MiB
    fits = place("x86.init-size-placement", "x86_64", bz, PlacementInputs(load_addr=0x100000, initrd_addr=0x3000000,
                                                                         initrd_size=0x100000, ram_base=0,
                                                                         ram_size=0x8000000))
    assert fits.status is Status.PASS and fits.margin == 0


def _arm64_image(path: Path, image_size: int, text_offset: int = 0) -> Path:
    head = bytearray(64)
    struct.pack_into("<IIQQQ", head, 0, 0x14000000, 0, text_offset, image_size, 0xA)
    head[0x38:0x3C] = b"ARM\x64"
    path.write_bytes(bytes(head) + bytes(4096))
    return path


def _fdt(path: Path, totalsize: int) -> Path:
    head = struct.pack(">IIIIIIIIII", 0xD00DFEED, totalsize, 0x38, 0x38, 0x28, 17, 16, 0, 0, 0)
    path.write_bytes(head + bytes(max(0, totalsize - len(head))))
    return path


def test_adapter_reads_headers(tmp_path: Path) -> None:
    img = read_boot_facts(str(_arm64_image(tmp_path / "Image", 0x2A00000, 0x80000)))
    assert img.kind == "arm64-image" and img.fields["image_size"] == 0x2A00000 and img.fields["text_offset"] == 0x80000
    dtb = read_boot_facts(str(_fdt(tmp_path / "board.dtb", 0x9000)))
    assert dtb.kind == "dtb" and dtb.fields["dtb_size"] == 0x9000


def test_check_cli_placement_and_dtb_size(tmp_path: Path) -> None:
    image = _arm64_image(tmp_path / "Image", 0x2A00000)
    dtb = _fdt(tmp_path / "board.dtb", 2 * MiB + 8)
    doc = cli_json(["check", "--boot-image", str(image), "--dtb", str(dtb), "--load-addr", "0x40400000",
                    "--dtb-addr", "0x42000000", "--ram-base", "0x40000000", "--ram-size", "1GiB"], 1)
    by = {r["rule"]: r for r in doc["results"]}
    assert by["arm64.image-size-placement"]["status"] == "fail"
    assert by["arm64.dtb-2mib"]["status"] == "fail" and by["arm64.dtb-2mib"]["measured"] == 2 * MiB + 8
    ok = cli_json(["check", "--boot-image", str(image), "--dtb", str(_fdt(tmp_path / "s.dtb", 0x9000)),
                   "--load-addr", "0x40400000", "--dtb-addr", "0x42e00000"], 0)
    by = {r["rule"]: r for r in ok["results"]}
    assert by["arm64.image-size-placement"]["status"] == "pass"
    assert by["arm64.dtb-2mib"]["status"] == "pass"


def test_debian_bzimage_init_size_window() -> None:
    """Debian's 6.1.0-50-amd64 bzImage. The header words, as `od -A x -t x4 -j 0x258 -N 12` and
    `-j 0x230 -N 8` print them: pref_address 0x01000000, init_size 0x03f97000, kernel_alignment
    0x00200000, relocatable_kernel 0x01. Loaded at 0x100000: runtime_start = align_up(max(0x100000,
    0x1000000), 0x200000) = 0x1000000, and the window runs to 0x1000000 + 0x3f97000 = 0x4f97000.
    With 64 MiB of RAM (to 0x4000000) the largest footprint that fits is 0x3000000 = 48 MiB."""
    import os

    root = os.environ.get("CPUALLOC_DEBIAN_KERNEL_DIR")
    path = Path(root or "/nonexistent") / "boot" / "vmlinuz-6.1.0-50-amd64"
    if not path.is_file():
        import pytest

        pytest.skip("CPUALLOC_DEBIAN_KERNEL_DIR is not set (Debian's linux-image package, extracted)")
    doc = cli_json(["check", str(path), "--arch", "x86_64", "--load-addr", "0x100000", "--ram-base", "0",
                    "--ram-size", "64MiB"], 1)
    r = {x["rule"]: x for x in doc["results"]}["x86.init-size-placement"]
    assert r["status"] == "fail" and r["measured"] == 0x3F97000 and r["bound"] == 0x3000000
    assert any("0x1000000..0x4f97000" in line for line in r["arithmetic"])
    assert any(f["value"] == 0x3000000 for f in r["fixes"])
    import json

    from conftest import run_cli

    _, out, _ = run_cli(["check", str(path), "--arch", "x86_64", "--load-addr", "0x100000", "--ram-base", "0",
                         "--ram-size", str(0x4F97000), "--format", "json"])
    ok = {x["rule"]: x for x in json.loads(out)["results"]}["x86.init-size-placement"]
    assert ok["status"] == "pass" and ok["margin"] == 0
