"""Issue 13 item 5: sweep and scale answer against a platform preset (--platform, or the policy's
`platform = "NAME"`), and check's JSON records which preset was used. Expected values are worked
out by hand below from the preset's cited addresses and GNU size output."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from conftest import FIXTURES, REPO, cli_json

MiB = 1 << 20
KiB = 1 << 10
SYN = FIXTURES / "scale" / "synthetic"

# rpi-arm64-uboot: U-Boot v2023.01 include/configs/rpi.h:119-123 kernel_addr_r=0x00080000,
# fdt_addr_r=0x02600000; Documentation/arch/arm64/booting.rst:135-140 "At least image_size bytes
# from the start of the image must be free", so image_size <= 0x2600000 - 0x80000.
RPI_ROOM = 0x2600000 - 0x80000  # 39,321,600 B = 37.5 MiB
# the static design's cpu area: NR_CPUS x (PAGE_SIZE << CPU_AREA_ORDER) = N x (4096 << 6) = N x 256 KiB
AREA = 4096 << 6
BASE = 30 * MiB
# largest N with BASE + N * AREA <= RPI_ROOM: (39,321,600 - 31,457,280) / 262,144 = 7,864,320 / 262,144 = 30
HAND_LARGEST = (RPI_ROOM - BASE) // AREA
assert HAND_LARGEST == 30 and BASE + 30 * AREA == RPI_ROOM


def _sweep_fit(doc: dict[str, object], design: str, limit: str) -> dict[str, object]:
    fits = doc["fits"]
    assert isinstance(fits, list)
    return next(f for f in fits if f["design"] == design and f["limit"] == limit)


def test_sweep_platform_rpi_largest_nr_cpus_that_boots() -> None:
    doc = cli_json(["sweep", "--arch", "arm64", "--kernel-version", "6.1", "--platform", "rpi-arm64-uboot",
                    "--base-size", "30MiB", "--design", "static", "--values", "2,30,31,64"], 0)
    fit = _sweep_fit(doc, "static", "arm64.image-size-placement")
    assert fit["bound"] == RPI_ROOM
    assert fit["largest_fitting"] == HAND_LARGEST and fit["smallest_failing"] == HAND_LARGEST + 1


def test_sweep_without_platform_has_no_placement_answer() -> None:
    doc = cli_json(["sweep", "--arch", "arm64", "--kernel-version", "6.1", "--base-size", "30MiB",
                    "--design", "static", "--values", "2,64"], 0)
    assert not [f for f in doc["fits"] if f["limit"] == "arm64.image-size-placement"]


def test_sweep_honours_the_policy_platform(tmp_path: Path) -> None:
    pol = tmp_path / "cpualloc.toml"
    pol.write_text('platform = "rpi-arm64-uboot"\n')
    doc = cli_json(["sweep", "--policy", str(pol), "--arch", "arm64", "--kernel-version", "6.1",
                    "--base-size", "30MiB", "--design", "static", "--values", "2,64"], 0)
    fit = _sweep_fit(doc, "static", "arm64.image-size-placement")
    assert fit["bound"] == RPI_ROOM and fit["largest_fitting"] == HAND_LARGEST
    # --platform overrides the policy's choice: qemu-virt-arm64-uboot's room is 0x44000000 - 0x40400000
    # (U-Boot v2023.01 include/configs/qemu-arm.h:82-86) = 60 MiB before the initrd, and its DTB sits
    # below the kernel at 0x40000000: (60 MiB - 30 MiB) / 256 KiB = 120
    doc = cli_json(["sweep", "--policy", str(pol), "--platform", "qemu-virt-arm64-uboot", "--arch", "arm64",
                    "--kernel-version", "6.1", "--base-size", "30MiB", "--design", "static",
                    "--values", "2,64"], 0)
    fit = _sweep_fit(doc, "static", "arm64.image-size-placement")
    assert fit["bound"] == 0x44000000 - 0x40400000 and fit["largest_fitting"] == (60 * MiB - BASE) // AREA == 120


def test_scale_honours_the_policy_platform(tmp_path: Path) -> None:
    # GNU size of synth-n100.o: text 0 + data 400 + bss 5088 = 5488 (recorded by regen.sh); every
    # step of N adds at least struct elem's 8 + 6*4 = 32 B (per_cpu_things[N] in synth.c), so a
    # crashkernel reservation of exactly 5488 B fits N = 100 and not 101.
    size = (SYN / "synth-n100.size.txt").read_text().splitlines()[1].split()
    total = int(size[0]) + int(size[1]) + int(size[2])
    assert total == 5488
    pol = tmp_path / "cpualloc.toml"
    pol.write_text(f'platform = "tiny-kdump"\n[[preset]]\nid = "tiny-kdump"\ntitle = "t"\n'
                   f'params = {{ crashkernel = "{total}" }}\nsources = ["a test reservation"]\n')
    args = ["scale", f"{SYN / 'synth-n10.o'}@10", f"{SYN / 'synth-n64.o'}@64", f"{SYN / 'synth-n100.o'}@100",
            "--at", "200"]
    doc = cli_json([*args, "--policy", str(pol)], 1)
    ans = next(a for a in doc["limits"] if a["source"] == "kdump.crashkernel-fit")
    assert ans["bound_bytes"] == total and ans["largest_n"] == 100 and ans["fits_at"] is False
    doc = cli_json([*args, "--policy", str(tmp_path / "cpualloc.toml"), "--param", f"crashkernel={total + 32}"], 1)
    ans = next(a for a in doc["limits"] if a["source"] == "kdump.crashkernel-fit")
    assert ans["bound_bytes"] == total + 32 and ans["largest_n"] >= 100


def test_check_json_records_the_platform(tmp_path: Path) -> None:
    base = ["check", "--arch", "arm64", "--kernel-version", "6.1", "--base-size", "1MiB"]
    doc = cli_json([*base, "--platform", "rpi-arm64-uboot"], 0)
    jsonschema.validate(doc, json.loads((REPO / "schemas" / "check.schema.json").read_text()))
    assert doc["inputs"]["platform"] == "rpi-arm64-uboot" and doc["inputs"]["platform_source"] == "--platform"
    pol = tmp_path / "cpualloc.toml"
    pol.write_text('platform = "uboot-arm64"\n')
    doc = cli_json([*base, "--policy", str(pol)], 0)
    assert doc["inputs"]["platform"] == "uboot-arm64" and doc["inputs"]["platform_source"] == "policy"
    doc = cli_json(base, 0)
    assert doc["inputs"]["platform"] is None and doc["inputs"]["platform_source"] is None


def test_sweep_json_records_the_platform(tmp_path: Path) -> None:
    # as check's inputs.platform / inputs.platform_source: which preset the bounds came from, and who named it
    base = ["sweep", "--arch", "arm64", "--kernel-version", "6.1", "--base-size", "30MiB", "--design", "static",
            "--values", "2,64"]
    doc = cli_json([*base, "--platform", "rpi-arm64-uboot"], 0)
    assert doc["platform"] == "rpi-arm64-uboot" and doc["platform_source"] == "--platform"
    pol = tmp_path / "cpualloc.toml"
    pol.write_text('platform = "uboot-arm64"\n')
    doc = cli_json([*base, "--policy", str(pol)], 0)
    assert doc["platform"] == "uboot-arm64" and doc["platform_source"] == "policy"
    # --platform wins over the policy's choice, and says so
    doc = cli_json([*base, "--policy", str(pol), "--platform", "qemu-virt-arm64-uboot"], 0)
    assert doc["platform"] == "qemu-virt-arm64-uboot" and doc["platform_source"] == "--platform"
    doc = cli_json(base, 0)
    assert doc["platform"] is None and doc["platform_source"] is None
    # --param alone selects no preset: the bound is recorded among the limits, the platform stays null
    doc = cli_json([*base, "--param", "bootm_len=64MiB"], 0)
    assert doc["platform"] is None and doc["platform_source"] is None
