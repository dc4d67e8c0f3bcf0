"""The modern percpu model against real boots of Linux 6.1 under qemu.

tests/fixtures/percpu_boots/ARCH/ holds, for kernels built and booted by make_fixtures.sh
there: the .config, `readelf -S -W` of the vmlinux, and per boot the kernel's own lines
(`smpboot: Allowing N CPUs`, `percpu: Embedded P pages/cpu sS rR dD uU`). The test takes its
inputs only from the config and readelf (outside oracles) and must reproduce every number the
kernel printed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cpualloc_cli.analysis.footprint import compute_percpu_design
from cpualloc_cli.model.footprint import FootprintInputs

HERE = Path(__file__).resolve().parent / "fixtures" / "percpu_boots"
LINE = re.compile(r"percpu: Embedded (\d+) pages/cpu s(\d+) r(\d+) d(\d+) u(\d+)")
ALLOWING = re.compile(r"smpboot: Allowing (\d+) CPUs")
ARCHES = ("x86_64", "i386")


def _config(arch: str) -> dict[str, str]:
    values = {}
    for line in (HERE / arch / "config").read_text().splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            k, _, v = line[7:].partition("=")
            values[k] = v
    return values


def _percpu_section_size(arch: str) -> int:
    for line in (HERE / arch / "readelf-S.txt").read_text().splitlines():
        if " .data..percpu " in line:
            # [Nr] Name Type Address Off Size ...
            fields = line.split("]", 1)[1].split()
            return int(fields[4], 16)
    raise AssertionError(f"no .data..percpu in {arch}/readelf-S.txt")


def _boots(arch: str) -> list[tuple[int, tuple[int, ...]]]:
    out = []
    for path in sorted((HERE / arch).glob("boot-smp*.txt")):
        text = path.read_text()
        m, a = LINE.search(text), ALLOWING.search(text)
        assert m and a, f"{path} lacks the percpu or the Allowing line"
        out.append((int(a.group(1)), tuple(int(g) for g in m.groups())))
    return out


@pytest.mark.parametrize("arch", ARCHES)
def test_fixture_is_complete(arch: str) -> None:
    cpus = {n for n, _ in _boots(arch)}
    assert {2, 3, 4, 8} <= cpus, f"{arch}: boots at 2, 3, 4 and 8 CPUs are required, have {sorted(cpus)}"


@pytest.mark.parametrize("arch", ARCHES)
def test_percpu_line_matches_real_boot(arch: str) -> None:
    cfg = _config(arch)
    static = _percpu_section_size(arch)
    nr_cpus = int(cfg["NR_CPUS"])
    bits = 64 if cfg.get("64BIT") == "y" else 32
    modules = cfg.get("MODULES") == "y"
    boots = _boots(arch)
    assert boots
    for possible, (pages, s, r, d, u) in boots:
        inputs = FootprintInputs(arch=arch, kernel_version=(6, 1, 192), bits=bits, page_size=4096,
                                 nr_cpus=nr_cpus, possible_cpus=possible, cpu_area_order=0, alloc_order=0,
                                 modules=modules, percpu_static_bytes=static)
        ai = compute_percpu_design(inputs).percpu
        assert ai is not None
        got = (ai.pages_per_cpu, ai.static_size, ai.reserved_size, ai.dyn_size, ai.unit_size)
        assert got == (pages, s, r, d, u), f"{arch} with {possible} CPUs: kernel printed {(pages, s, r, d, u)}"


def test_x86_64_boot_by_hand() -> None:
    # x86_64/readelf-S.txt: .data..percpu size 0x1edd8 = 126,424; MODULES=y so reserved 8,192 and
    # dyn = 8,192 + 28,672 - 8,192 = 28,672 (arch/x86/kernel/setup_percpu.c:140-141).
    # size_sum = PFN_ALIGN(126,424 + 8,192 + 28,672) = PFN_ALIGN(163,288) = 40 pages = 163,840;
    # d = 163,840 - 126,424 - 8,192 = 29,224. alloc 2 MiB, 2 MiB / 163,840 = 12.8 -> 12 -> 8 (divides 2 MiB).
    # 2 CPUs: upa 8 wastes 6 > 0, upa 4 wastes 2 > 0, upa 2 wastes 0 -> u = 1 MiB.
    boots = dict(_boots("x86_64"))
    assert boots[2] == (40, 126_424, 8_192, 29_224, 1_048_576)
    # 3 CPUs: upa 8 wastes 5 > 1; upa 4 wastes 1, not > 1 -> u = 512 KiB.
    assert boots[3] == (40, 126_424, 8_192, 29_224, 524_288)
    assert boots[8] == (40, 126_424, 8_192, 29_224, 262_144)


@pytest.mark.srctree
@pytest.mark.parametrize("arch", ARCHES)
def test_cli_with_real_kconfig_matches_boot(arch: str) -> None:
    """The whole path: the boot's .config resolved against the real Linux 6.1 Kconfig tree
    (--srctree), static size from readelf, --possible-cpus from the boot: same line."""
    import json

    from conftest import need_linux_tree, run_cli

    tree = need_linux_tree()
    static = _percpu_section_size(arch)
    for possible, numbers in _boots(arch):
        rc, out, err = run_cli(["footprint", "--config", str(HERE / arch / "config"), "--srctree", tree,
                                "--design", "percpu", "--static-size", str(static), "--possible-cpus", str(possible),
                                "--format", "json"])
        assert rc == 0, err
        doc = json.loads(out)
        assert doc["arch"] == arch
        pc = doc["designs"][0]["percpu"]
        got = (pc["pages_per_cpu"], pc["static_size"], pc["reserved_size"], pc["dyn_size"], pc["unit_size"])
        assert got == numbers, f"{arch} with {possible} CPUs"


def test_x86_64_real_boots_show_the_non_monotonic_unit() -> None:
    # size_sum 163,840 (40 pages), alloc 2 MiB, max upa 8 (2 MiB / 163,840 = 12.8; 12..9 do not divide 2 MiB).
    # 5 CPUs: upa 8 wastes 3 > 5 // 3 = 1; upa 4: 2 allocs, wastes 3 > 1; upa 2: 3 allocs, wastes 1 -> u = 1 MiB
    # 8 CPUs: upa 8, 1 alloc -> u = 256 KiB;  9 CPUs: upa 8 wastes 7 > 3; upa 4: 3 allocs, wastes 3 -> u = 512 KiB
    # 12 CPUs: upa 8: 2 allocs, wastes 4, not > 4 -> u = 256 KiB. The unit grows again from 8 to 9 CPUs.
    units = {n: numbers[4] for n, numbers in _boots("x86_64")}
    assert (units[4], units[5], units[8], units[9], units[12]) == (524_288, 1_048_576, 262_144, 524_288, 262_144)


def test_i386_boot_by_hand() -> None:
    # i386/readelf-S.txt: .data..percpu 0x10bcc = 68,556; MODULES is not set: reserved 0 (X86_32), dyn = 0 + 20,480.
    # size_sum = PFN_ALIGN(68,556 + 0 + 20,480) = PFN_ALIGN(89,036) = 22 pages = 90,112; d = 90,112 - 68,556 = 21,556;
    # atom = PAGE_SIZE, so alloc = unit = 90,112 whatever the CPU count.
    assert _percpu_section_size("i386") == 68_556
    for _, numbers in _boots("i386"):
        assert numbers == (22, 68_556, 0, 21_556, 90_112)
