"""A real boot loader on both sides of its bound: Debian's U-Boot 2023.01 (u-boot-qemu, qemu_arm64)
under qemu-system-aarch64, bootm of gzip'd legacy uImages whose payload is exactly
CONFIG_SYS_BOOTM_LEN (0x4000000, read from the build: qemu_arm64-bootm_load_os.dis) and one byte
more. The transcripts were recorded by fixtures/uboot/make_transcripts.py (it needs u-boot-qemu,
qemu-system-arm and u-boot-tools); these tests read them and never boot qemu."""

from __future__ import annotations

import gzip

import pytest
from conftest import FIXTURES, cli_json

HERE = FIXTURES / "uboot"
BOOTM_LEN = 0x4000000


def transcript(name: str) -> str:
    return (HERE / f"transcript-{name}.txt").read_text()


def test_the_build_uses_64mib() -> None:
    dis = (HERE / "qemu_arm64-bootm_load_os.dis").read_text()
    assert "mov\tw7, #0x4000000" in dis  # image_decomp's buffer size argument
    assert "mov\tx0, #0x3ffffff" in dis  # handle_decomp_error: uncomp_size >= buf_size


def test_images_are_what_the_transcripts_say() -> None:
    for name, size in (("under", BOOTM_LEN), ("over", BOOTM_LEN + 1)):
        data = (HERE / f"{name}.uimg").read_bytes()
        assert int.from_bytes(data[:4], "big") == 0x27051956  # IH_MAGIC
        assert len(gzip.decompress(data[64:])) == size  # the oracle: Python's own gzip


def test_uboot_decompresses_at_the_bound_and_fails_one_byte_over() -> None:
    under, over = transcript("under"), transcript("over")
    assert "U-Boot 2023.01+dfsg-2+deb12u3" in under and "U-Boot 2023.01+dfsg-2+deb12u3" in over
    assert "Uncompressing Kernel Image" in under and "Starting kernel ..." in under
    assert "uncompress error" not in under
    # U-Boot 2023.01's own words for the failing side (boot/bootm.c:380-383 prints "Image too large"
    # only when it sees uncomp_size >= buf_size; this gunzip path reports the error instead)
    assert "Error: inflate() returned -5" in over  # Z_BUF_ERROR: the output buffer is full
    assert "gzip compressed: uncompress error -1" in over and "Must RESET board to recover" in over
    assert "Starting kernel" not in over


@pytest.mark.parametrize("preset", ["uboot-arm64", "qemu-virt-arm64-uboot"])
def test_check_with_the_preset_agrees(preset: str) -> None:
    under = cli_json(["check", "--platform", preset, "--boot-image", str(HERE / "under.uimg")],
                     0 if preset == "uboot-arm64" else 1)
    over = cli_json(["check", "--platform", preset, "--boot-image", str(HERE / "over.uimg")], 1)
    u = {r["rule"]: r for r in under["results"]}["uboot.bootm-len"]
    o = {r["rule"]: r for r in over["results"]}["uboot.bootm-len"]
    assert (u["status"], u["measured"], u["bound"]) == ("pass", BOOTM_LEN, BOOTM_LEN)
    assert (o["status"], o["measured"], o["bound"]) == ("fail", BOOTM_LEN + 1, BOOTM_LEN)
    if preset == "qemu-virt-arm64-uboot":
        # image_size 64 MiB from 0x40400000 reaches 0x44400000, past ramdisk_addr_r 0x44000000 (qemu-arm.h:86):
        # with an initrd there this boot would overwrite it (the qemu run loaded none)
        p = {r["rule"]: r for r in under["results"]}["arm64.image-size-placement"]
        assert p["status"] == "fail" and p["bound"] == 0x44000000 - 0x40400000


def test_booti_refuses_a_dtb_inside_image_size() -> None:
    # fixtures/uboot/placement: a stand-in Image (stub.S, not Linux) with image_size 0x1000000 at 0x40400000;
    # by hand the footprint is 0x40400000..0x41400000, so a DTB at 0x40800000 is inside and 0x41400000 clear
    inside = (HERE / "placement" / "transcript-inside.txt").read_text()
    outside = (HERE / "placement" / "transcript-outside.txt").read_text()
    assert "ERROR: FDT image overlaps OS image (OS=0x40400000..0x41400000)" in inside
    assert "Starting kernel ..." in outside and "STUB: DTB magic intact after clearing image_size" in outside
