"""Issue 13: the ChromeOS depthcharge kernel buffer, GRUB i386-pc's initrd ceiling and 4 GiB bound
(platform limits of the grub-i386-pc preset) and the Fedora/RHEL kdump-utils crashkernel defaults,
each at its bound and one step over, with the source's figure written out here (never cpualloc's own
output)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import cli_json

from cpualloc_cli.adapters.limits_loader import load_database, load_platforms
from cpualloc_cli.analysis.limits import CheckContext, evaluate_limits
from cpualloc_cli.model.findings import Severity
from cpualloc_cli.model.limits import Limit, LimitOutcome, Status

MiB = 1 << 20
KiB = 1 << 10


def preset(pid: str):  # type: ignore[no-untyped-def]
    return next(p for p in load_platforms() if p.id == pid)


def run(lim: Limit, arch: str, measures: dict[str, float], params: dict[str, int] | None = None) -> LimitOutcome:
    ctx = CheckContext(arch=arch, kernel_version="6.1.0", measures=measures, params=params or {}, config=None)
    outcomes, na = evaluate_limits([lim], [], ctx)
    assert not na, f"{lim.id} does not apply to {arch}"
    return outcomes[0]


def db(rule: str) -> Limit:
    return next(lim for lim in load_database() if lim.id == rule)


def grub(rule: str) -> Limit:
    return next(lim for lim in preset("grub-i386-pc").limits if lim.id == rule)


# --- ChromeOS depthcharge -----------------------------------------------------------------------

def test_depthcharge_presets_carry_the_kconfig_defaults() -> None:
    # depthcharge src/image/Kconfig:35-36 default 0x20000000 (0x08000000 if ARCH_ARM_V7);
    # 221d8e95 (2015): default 0x2000000 ("Bump default KERNEL_SIZE to 32M")
    assert preset("chromeos-depthcharge").params == {"chromeos_kernel_buffer": 0x20000000}
    assert preset("chromeos-depthcharge-2015").params == {"chromeos_kernel_buffer": 0x2000000}


@pytest.mark.parametrize("buffer", [0x2000000, 0x20000000, 0x08000000])
def test_depthcharge_kernel_buffer_at_and_over(buffer: int) -> None:
    lim = db("chromeos.depthcharge-kernel-buffer")
    p = {"chromeos_kernel_buffer": buffer}
    at = run(lim, "arm64", {"partition_blocks": buffer}, p)
    assert at.status is Status.PASS and at.margin == 0
    over = run(lim, "arm64", {"partition_blocks": buffer + 1}, p)
    assert over.status is Status.FAIL and over.severity is Severity.ERROR and over.margin == -1


def test_depthcharge_32mib_buffer_takes_29_and_refuses_36() -> None:
    # the report: a 29 MiB kernel boots and a 36 MiB one fails on one board (a 32 MiB buffer)
    lim, p = db("chromeos.depthcharge-kernel-buffer"), dict(preset("chromeos-depthcharge-2015").params)
    assert run(lim, "x86_64", {"partition_blocks": 29 * MiB}, p).status is Status.PASS
    assert run(lim, "x86_64", {"partition_blocks": 36 * MiB}, p).status is Status.FAIL
    skipped = run(lim, "x86_64", {"partition_blocks": 36 * MiB})
    assert skipped.status is Status.SKIPPED and "chromeos_kernel_buffer" in (skipped.skip_reason or "")


# --- GRUB i386-pc -------------------------------------------------------------------------------

# GRUB 2.12 include/grub/i386/linux.h:26 GRUB_LINUX_INITRD_MAX_ADDRESS 0x37FFFFFF; linux.c:1096
# addr_max -= 0x10000; :1109 addr = (addr_max - aligned_size) & ~0xFFF; :1098 addr_min =
# prot_mode_target + page_align(init_size); :1116 "the initrd is too big" when addr < addr_min.
GRUB_INITRD_MAX = 0x37FFFFFF
PREF = 0x1000000  # linux-6.1 arch/x86/Kconfig PHYSICAL_START default: the bzImage's pref_address


def grub_initrd_fits(init_size: int, initrd: int) -> bool:
    """GRUB 2.12's own test, transcribed: True when `initrd` command would succeed."""
    aligned = (initrd + 0xFFF) & ~0xFFF
    addr_max = GRUB_INITRD_MAX - 0x10000
    addr = (addr_max - aligned) & ~0xFFF
    return addr >= PREF + ((init_size + 0xFFF) & ~0xFFF)


def test_grub_initrd_ceiling_by_hand() -> None:
    ceiling = ((GRUB_INITRD_MAX - 0x10000) & ~0xFFF) - PREF
    assert ceiling == 0x36FEF000 == 922_677_248  # 879.9 MiB
    assert grub_initrd_fits(ceiling, 0) and not grub_initrd_fits(ceiling + 1, 0)
    # each page of initrd comes off the bound
    assert grub_initrd_fits(ceiling - 4096, 4096) and not grub_initrd_fits(ceiling - 4096, 4097)
    lim = grub("grub.i386-pc.initrd-ceiling")
    assert lim.bound == ceiling
    assert run(lim, "x86_64", {"init_size": ceiling}).status is Status.PASS
    over = run(lim, "x86_64", {"init_size": ceiling + 1})
    assert over.status is Status.FAIL and over.margin == -1
    assert run(lim, "i386", {"init_size": ceiling + 1}).status is Status.FAIL


def test_grub_below_4gib() -> None:
    # linux.c:185-186: from 0x1000000 up to UP_TO_TOP32(prot_size); relocator.h:79 UP_TO_TOP32(s) = (~s & 0xffffffff) + 1
    def up_to_top32(s: int) -> int:
        return (~s & 0xFFFFFFFF) + 1

    bound = (1 << 32) - 0x1000000
    assert up_to_top32(bound) == 0x1000000  # the only start left is 16 MiB
    assert up_to_top32(bound + 4096) < 0x1000000  # none left
    lim = grub("grub.i386-pc.below-4gib")
    assert run(lim, "x86_64", {"init_size": bound}).status is Status.PASS
    assert run(lim, "x86_64", {"init_size": bound + 1}).status is Status.FAIL


def test_grub_limits_only_with_the_preset() -> None:
    ids = {lim.id for lim in load_database()}
    assert not any(i.startswith("grub.") for i in ids)
    doc = cli_json(["limits", "--platform", "grub-i386-pc"], 0)
    got = {x if isinstance(x, str) else x["id"] for p in doc["platforms"] for x in p.get("limits", [])}
    assert {"grub.i386-pc.initrd-ceiling", "grub.i386-pc.below-4gib"} <= got


def test_grub_preset_on_debian_bzimage() -> None:
    """Debian 6.1.0-50-amd64: init_size 0x03f97000 (od -A x -t x4 -j 0x260 -N 4 of the bzImage, as
    tests/test_bootlimits_placement.py records it): 0x36fef000 - 0x3f97000 = 0x33058000 of room for the initrd."""
    root = os.environ.get("CPUALLOC_DEBIAN_KERNEL_DIR")
    path = Path(root or "/nonexistent") / "boot" / "vmlinuz-6.1.0-50-amd64"
    if not path.is_file():
        pytest.skip("CPUALLOC_DEBIAN_KERNEL_DIR is not set (Debian's linux-image package, extracted)")
    doc = cli_json(["check", "--arch", "x86_64", "--kernel-version", "6.1", "--base-size", "1MiB",
                    "--platform", "grub-i386-pc", "--boot-image", str(path)], 0)
    by = {r["rule"]: r for r in doc["results"]}
    r = by["grub.i386-pc.initrd-ceiling"]
    assert (r["status"], r["measured"], r["bound"]) == ("pass", 0x3F97000, 0x36FEF000)
    assert r["margin"] == 0x36FEF000 - 0x3F97000 == 0x33058000
    assert by["grub.i386-pc.below-4gib"]["status"] == "pass"
    assert doc["inputs"]["platform"] == "grub-i386-pc"


# --- distributions' kdump defaults --------------------------------------------------------------

@pytest.mark.parametrize("pid,arch,size", [("kdump-utils-x86_64", "x86_64", 256 * MiB),
                                           ("kdump-utils-arm64", "arm64", 320 * MiB)])
def test_kdump_utils_presets(pid: str, arch: str, size: int) -> None:
    # kdump-utils v1.0.61 kdump-lib.sh:1031 x86_64 "2G-64G:256M,64G-:512M"; :1037 aarch64 "2G-4G:256M,4G-64G:320M,64G-:576M"
    p = dict(preset(pid).params)
    assert p == {"crashkernel": size}
    lim = db("kdump.crashkernel-fit")
    assert run(lim, arch, {"total": size}, p).status is Status.PASS
    assert run(lim, arch, {"total": size + 1}, p).status is Status.FAIL


def test_kdump_utils_x86_feeds_the_boot_reserved_limit() -> None:
    lim, p = db("kdump.boot-reserved-fit"), dict(preset("kdump-utils-x86_64").params)
    assert run(lim, "x86_64", {"kdump_reserved": 256 * MiB}, p).status is Status.PASS
    assert run(lim, "x86_64", {"kdump_reserved": 256 * MiB + 1}, p).status is Status.FAIL


def _arm64_image_of(path: Path, size: int) -> Path:
    # an arm64 Image header (Documentation/arch/arm64/booting.rst:75-86), the file padded (sparse) to `size`
    head = bytearray(64)
    head[0x10:0x18] = (size + (1 << 20)).to_bytes(8, "little")  # image_size
    head[0x18:0x20] = (0xA).to_bytes(8, "little")
    head[0x38:0x3C] = b"ARM\x64"
    with open(path, "wb") as fh:
        fh.write(bytes(head))
        fh.truncate(size)
    return path


def test_check_cli_with_the_2015_depthcharge_preset(tmp_path: Path) -> None:
    # 221d8e95: KERNEL_SIZE 0x2000000; a kernel blob of exactly 32 MiB fits, one byte more does not
    base = ["check", "--kernel-version", "6.1", "--platform", "chromeos-depthcharge-2015", "--boot-image"]
    at = cli_json([*base, str(_arm64_image_of(tmp_path / "at", 0x2000000))], 0)
    r = {x["rule"]: x for x in at["results"]}["chromeos.depthcharge-kernel-buffer"]
    assert (r["status"], r["measured"], r["bound"]) == ("pass", 0x2000000, 0x2000000)
    over = cli_json([*base, str(_arm64_image_of(tmp_path / "over", 0x2000001))], 1)
    r = {x["rule"]: x for x in over["results"]}["chromeos.depthcharge-kernel-buffer"]
    assert (r["status"], r["measured"], r["margin"]) == ("fail", 0x2000001, -1)
    assert over["inputs"]["platform"] == "chromeos-depthcharge-2015"
