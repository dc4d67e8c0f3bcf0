"""Issue 13, placement booted for real: Debian's linux-image-6.1.0-50-arm64 Image (6.1.176-1) loaded
by Debian's U-Boot 2023.01 (u-boot-qemu, qemu_arm64) under qemu-system-aarch64 -M virt, with the DTB
inside and outside the Image's image_size window. The transcripts were recorded by
fixtures/uboot/linux/make_transcripts.py (it needs u-boot-qemu, qemu-system-arm and the Image from
tools/boots/fetch_arm64.sh); these tests read them and never boot qemu.

The window, by hand from linux-6.12 Documentation/arch/arm64/booting.rst:135-140 (linux-6.1
Documentation/arm64/booting.rst:135-140): "The Image must be placed text_offset bytes from a 2MB
aligned base address ... At least image_size bytes from the start of the image must be free for use
by the kernel." The header (booting.rst:75-86) holds text_offset at 0x08 and image_size at 0x10, u64
little endian; this Image has text_offset 0 and image_size 0x2010000, so loaded at 0x40400000 (a 2 MiB
multiple) the kernel owns 0x40400000 .. 0x40400000 + 0x2010000 = 0x42410000. The file is 32,956,352 B
(ends at 0x4236dfc0); what lies past it up to image_size is BSS, which the kernel clears before it
reads the DTB (linux-6.1 arch/arm64/kernel/head.S:440-462: Clear BSS, then early_fdt_map), and with no
valid DTB setup_machine_fdt spins without a console (arch/arm64/kernel/setup.c:190-203)."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import pytest
from conftest import FIXTURES, cli_json

HERE = FIXTURES / "uboot" / "linux"
LOAD = 0x40400000
IMAGE_SIZE = 0x2010000  # hand-decoded from the header bytes below, and U-Boot prints the same window
FILE_BYTES = 32_956_352
INSIDE = LOAD + ((FILE_BYTES + 0xFFF) & ~0xFFF)  # 0x4236e000: the first page past the file: BSS
OUTSIDE = LOAD + IMAGE_SIZE  # 0x42410000: the lowest address clear of the window
DTB_BYTES = 0x113000  # U-Boot: "Using Device Tree in place at 000000004236e000, end 0000000042480fff"
MAGIC_LE = "0xedfe0dd0"  # fdt magic 0xd00dfeed (big endian) as qemu's `xp /wx` shows a little-endian word


def transcript(name: str) -> str:
    return gzip.decompress((HERE / f"transcript-{name}.txt.gz").read_bytes()).decode()


def monitor_words(text: str) -> str:
    """What the qemu monitor's `xp /4wx DTB` printed after the boot (the last part of the transcript)."""
    assert "xp /4wx" in text
    return text.rsplit("xp /4wx", 1)[1]


def test_the_hand_figures() -> None:
    head = (HERE / "Image-header.bin").read_bytes()
    assert len(head) == 64 and head[0x38:0x3C] == b"ARM\x64"
    assert int.from_bytes(head[0x08:0x10], "little") == 0  # text_offset
    assert int.from_bytes(head[0x10:0x18], "little") == IMAGE_SIZE
    assert LOAD % (2 << 20) == 0
    assert (INSIDE, OUTSIDE) == (0x4236E000, 0x42410000)
    assert LOAD + FILE_BYTES <= INSIDE < OUTSIDE  # past the file, inside image_size
    assert OUTSIDE - INSIDE == 0xA2000 == 663_552  # the overlap of a DTB at INSIDE with the window
    info = (HERE / "image.txt").read_text()
    assert f"bytes {FILE_BYTES}\n" in info and "image_size 0x2010000" in info


def test_uboot_refuses_the_dtb_inside_image_size() -> None:
    text = transcript("inside-uboot")
    assert "U-Boot 2023.01+dfsg-2+deb12u3" in text
    # U-Boot's own window is the hand one: load .. load + image_size
    assert f"ERROR: FDT image overlaps OS image (OS={LOAD:#x}..{OUTSIDE:#x})" in text
    assert "Starting kernel" not in text
    assert MAGIC_LE in monitor_words(text)  # nothing ran: the DTB is still there


def test_the_kernel_clears_a_dtb_inside_image_size() -> None:
    # the same DTB address, U-Boot's check passed by shrinking the header's image_size in RAM to the
    # file's pages (0x1f6e000): Linux runs, clears its BSS over the DTB and never prints a line
    text = transcript("inside-kernel")
    assert "mw.l 0x40400010 0x1f6e000" in text
    assert "Starting kernel ..." in text
    after = text.split("Starting kernel ...", 1)[1].split("(qemu)", 1)[0]
    assert "Booting Linux" not in after and "Linux version" not in after and "[" not in after
    words = monitor_words(text)
    assert MAGIC_LE not in words and "0x00000000 0x00000000 0x00000000 0x00000000" in words


@pytest.mark.parametrize("name", ["outside", "outside-patched"])
def test_the_kernel_boots_with_the_dtb_at_load_plus_image_size(name: str) -> None:
    text = transcript(name)
    assert f"booti {LOAD:#x} - {OUTSIDE:#x}" in text
    assert "Linux version 6.1.0-50-arm64" in text and "Machine model: linux,dummy-virt" in text
    assert "Memory: " in text and "Kernel command line: console=ttyAMA0 earlycon" in text
    # as far as a boot without a root file system goes
    assert "Kernel panic - not syncing: VFS: Unable to mount root fs" in text
    assert MAGIC_LE in monitor_words(text)


def _placement(dtb_addr: int, rc: int) -> dict[str, object]:
    doc = cli_json(["check", "--boot-image", str(HERE / "Image-header.bin"), "--load-addr", hex(LOAD),
                    "--dtb-addr", hex(dtb_addr), "--dtb-size", hex(DTB_BYTES), "--ram-base", "0x40000000",
                    "--ram-size", "1GiB"], rc)
    by = {r["rule"]: r for r in doc["results"]}
    return by["arm64.image-size-placement"]


def test_check_gives_the_boots_verdicts() -> None:
    inside = _placement(INSIDE, 1)
    assert inside["status"] == "fail" and inside["measured"] == IMAGE_SIZE
    assert inside["margin"] == -(OUTSIDE - INSIDE)
    text = "\n".join(inside["arithmetic"])  # type: ignore[arg-type]
    assert f"overlaps the kernel (image_size) {LOAD:#x}..{OUTSIDE:#x} by 648.00 KiB (663552 B)" in text
    assert inside["fixes"][0]["value"] == OUTSIDE  # type: ignore[index]
    outside = _placement(OUTSIDE, 0)
    assert outside["status"] == "pass" and outside["margin"] == 0
    # one 8-byte step (the DTB alignment, booting.rst:50) below the boundary is inside again
    assert _placement(OUTSIDE - 8, 1)["status"] == "fail"


def test_the_header_is_the_debian_images() -> None:
    root = os.environ.get("CPUALLOC_DEBIAN_ARM64_DIR")
    if not root:
        if os.environ.get("CPUALLOC_REQUIRE_REAL"):
            pytest.fail("CPUALLOC_REQUIRE_REAL is set but CPUALLOC_DEBIAN_ARM64_DIR is not")
        pytest.skip("CPUALLOC_DEBIAN_ARM64_DIR is not set (the linux-image-6.1.0-50-arm64 package root, as .ci/run "
                    "or tools/boots/fetch_arm64.sh extract it)")
    path = Path(root) / "boot" / "vmlinuz-6.1.0-50-arm64"
    data = path.read_bytes()
    assert data[:64] == (HERE / "Image-header.bin").read_bytes() and len(data) == FILE_BYTES
    assert f"sha256 {hashlib.sha256(data).hexdigest()}" in (HERE / "image.txt").read_text()
