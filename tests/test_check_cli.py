"""`cpualloc check` end to end through the real entry point.

Expected values are hand arithmetic over facts recorded from GNU binutils (the fixtures'
readelf-s.txt / size.txt) and from the kernel sources, never cpualloc's own output.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, REPO, cli_json, need_linux_tree, need_shared, result, run_cli

SAMPLES = REPO / "samples"
ELF = FIXTURES / "elf"
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
KERNBASE_SPARC64 = 0x400000  # arch/sparc/include/asm/head_64.h:15
LOAD_OFFSET_X86_64 = 0xFFFFFFFF80000000  # __START_KERNEL_map, arch/x86/include/asm/page_64_types.h


def recorded_symbol(fixture: str, name: str) -> int:
    """The value of `name` in the fixture's recorded `readelf -s -W` output (GNU binutils 2.40)."""
    for line in (ELF / fixture / "readelf-s.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[-1] == name:
            return int(parts[1], 16)
    raise AssertionError(f"{name} not in {fixture}/readelf-s.txt")


def recorded_bss(fixture: str) -> int:
    """bss column of the recorded GNU `size` (Berkeley) output."""
    return int((ELF / fixture / "size.txt").read_text().splitlines()[1].split()[2])


def check_json(*args: str, rc: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    return cli_json(["check", *args], rc, env)


# --- the seed scenario ------------------------------------------------------------------------

def seed_numbers() -> tuple[int, int, int]:
    """(base extent, static extent at 64 CPUs, largest NR_CPUS that fits 8 MiB), by hand."""
    base = recorded_symbol("sparc64-smp", "_end") - KERNBASE_SPARC64  # 0x410000 - 0x400000 = 0x10000
    area = 8192 << 4  # PAGE_SIZE 8 KiB << CPU_AREA_ORDER 4 = 128 KiB (the thread: "by 8mb" at 64 CPUs)
    static = base + 64 * area
    largest = (8 * MiB - base) // area  # (8 MiB - 64 KiB) / 128 KiB = 63.5 -> 63
    return base, static, largest


def test_seed_static_nr64_on_the_sample_image_fails_with_the_fix() -> None:
    base, static, largest = seed_numbers()
    assert (base, static, largest) == (0x10000, 8454144, 63)
    doc = check_json("--config", str(SAMPLES / "sparc64-nr64-static.config"), str(SAMPLES / "sparc64-smp.elf"), rc=1)
    assert doc["inputs"]["design"] == "static"
    assert doc["inputs"]["basis"] == "image+config"
    r = result(doc, "sparc64.image-8mib")
    assert r["status"] == "fail" and r["severity"] == "error"
    assert r["measured"] == static and r["bound"] == 8 * MiB and r["margin"] == 8 * MiB - static
    # the cause comes first: the modelled cpu area (64 x 128 KiB = 8 MiB) breaks the bound, the
    # kernel without it (64 KiB) fits; then the computed fixes
    area_total = 64 * 128 * 1024
    assert r["fixes"][0]["kind"] == "cause" and r["fixes"][0]["value"] == area_total
    assert r["fixes"][0]["text"] == (f"the static design's cpu area (8.00 MiB, {area_total} B at NR_CPUS=64) is what "
                                     "exceeds the bound: the kernel without it is 64.00 KiB")
    assert r["fixes"][1]["text"] == f"NR_CPUS <= {largest} or CPU_AREA_VIRTUAL=y"
    assert any(f["text"].startswith("the virtual design fits: BSS +44 B") for f in r["fixes"])


def test_seed_image_with_the_cpu_area_built_in_gives_the_same_answer() -> None:
    # sparc64-cpuarea-nr64 holds `cpu_area[64 * 128 KiB]` in .bss: _end = 0x810000 (readelf -s).
    _, static, largest = seed_numbers()
    assert recorded_symbol("sparc64-cpuarea-nr64", "_end") - KERNBASE_SPARC64 == static
    doc = check_json("--config", str(SAMPLES / "sparc64-nr64-static.config"),
                     str(SAMPLES / "sparc64-cpuarea-nr64.elf"), rc=1)
    r = result(doc, "sparc64.image-8mib")
    assert r["measured"] == static
    assert r["fixes"][0]["kind"] == "cause"
    assert r["fixes"][1]["value"] == largest


def test_seed_image_only_uses_the_measured_extent() -> None:
    _, static, _ = seed_numbers()
    doc = check_json("--kernel-version", "2.6.24", str(SAMPLES / "sparc64-cpuarea-nr64.elf"), rc=1)
    assert doc["inputs"]["basis"] == "image"
    r = result(doc, "sparc64.image-8mib")
    assert r["measured"] == static
    # over by 64 KiB; the top BSS symbol is the 8 MiB cpu_area
    top = [f for f in r["fixes"] if f["kind"] == "top_bss"][0]
    assert top["value"] == static - 8 * MiB and "cpu_area (8.00 MiB)" in top["text"]


def test_seed_virtual_design_passes() -> None:
    base, _, _ = seed_numbers()
    doc = check_json("--config", str(SAMPLES / "sparc64-nr64-static.config"),
                     "--set", "PERCPU_DESIGN_CPU_ALLOC_VIRTUAL=y", str(SAMPLES / "sparc64-smp.elf"), rc=0)
    assert doc["inputs"]["design"] == "virtual"
    r = result(doc, "sparc64.image-8mib")
    assert r["status"] == "pass"
    assert r["measured"] == base + 44  # mm/cpu_alloc.o bss 44 (the thread's `size` output)


def test_i386_vmalloc_reserve_warning() -> None:
    share = 255 * (4096 << 6) / (128 * MiB)  # 255 x 256 KiB = 63.75 MiB of 128 MiB = 0.498046875
    doc = check_json("--arch", "i386", "--set", "SMP=y", "--set", "NR_CPUS=255", "--design", "vmalloc", rc=0)
    r = result(doc, "i386.vmalloc-share")
    assert r["status"] == "fail" and r["severity"] == "warning"
    assert r["measured"] == pytest.approx(share, abs=1e-6)
    assert any("49.8 %" in line for line in r["arithmetic"])
    # a quarter of vmalloc: 128 MiB / 4 / 256 KiB = 128 CPUs
    assert r["fixes"][0]["value"] == 128
    code, _, _ = run_cli(["check", "--arch", "i386", "--set", "SMP=y", "--set", "NR_CPUS=255", "--design", "vmalloc",
                          "--fail-on", "warning"])
    assert code == 1


# --- x86_64 KERNEL_IMAGE_SIZE -----------------------------------------------------------------

def test_x86_64_huge_bss_over_kernel_image_size() -> None:
    extent = recorded_symbol("x86_64-bigbss", "_end") - LOAD_OFFSET_X86_64  # 0x21007000 = 528 MiB + 28 KiB
    assert 512 * MiB < extent < GiB
    img = str(ELF / "x86_64-bigbss" / "vmlinux")
    doc = check_json("--arch", "x86_64", "--kernel-version", "6.1", img, rc=1)
    r = result(doc, "x86.kernel-image-size")
    assert r["status"] == "fail" and r["measured"] == extent and r["bound"] == 512 * MiB
    doc = check_json("--arch", "x86_64", "--kernel-version", "6.1", "--set", "RELOCATABLE=y",
                     "--set", "RANDOMIZE_BASE=y", img, rc=0)
    r = result(doc, "x86.kernel-image-size")
    assert r["status"] == "pass" and r["bound"] == GiB


# --- config-only against the real 6.1 tree ----------------------------------------------------

@pytest.mark.srctree
@pytest.mark.realkernel
def test_sparc64_tinyconfig_nr4096_page_flags() -> None:
    # Confirmed by a real build (see tests/test_limits_pageflags.py for the record): with this
    # config arch/sparc/mm/init_64.o builds at NR_CPUS=256 and fails the BUILD_BUG_ON at 512.
    # By hand: SECTIONS_WIDTH 53 - 30 = 23, NODES_WIDTH 0, ZONES_WIDTH 1 (NORMAL, MOVABLE),
    # ilog2(roundup_pow_of_two(4096)) = 12: 36 > 32; the largest N with 24 + ilog2(...) <= 32 is 256.
    tree = need_linux_tree()
    cfg = str(need_shared() / "sparc64-tiny-nr64" / "config")
    doc = check_json("--srctree", tree, "--arch", "sparc64", "--config", cfg, "--set", "NR_CPUS=4096", rc=1)
    r = result(doc, "sparc64.pageflags-nr-cpus")
    assert r["status"] == "fail" and r["measured"] == 36 and r["bound"] == 32
    assert r["fixes"][0]["text"] == "largest NR_CPUS that builds: 256"
    assert any("SPARSEMEM_VMEMMAP=y" in f["text"] for f in r["fixes"])
    assert r["path"] == cfg and r["line"] is not None
    doc = check_json("--srctree", tree, "--arch", "sparc64", "--config", cfg, "--set", "NR_CPUS=4096",
                     "--set", "SPARSEMEM_VMEMMAP=y", rc=0)
    r = result(doc, "sparc64.pageflags-nr-cpus")
    assert r["status"] == "pass" and r["measured"] == 0 + 0 + 1 + 12


# --- waivers, budgets, policy errors, build dirs, modules --------------------------------------

def write_policy(tmp_path: Path, text: str) -> str:
    p = tmp_path / "cpualloc.toml"
    p.write_text(text)
    return str(p)


def test_waiver_silences_exactly_its_rule_then_expires(tmp_path: Path) -> None:
    img = str(SAMPLES / "sparc64-cpuarea-nr64.elf")
    waiver = '[[waiver]]\nrule = "sparc64.image-8mib"\nreason = "tracked in BUG-1"\nexpires = {}\n'
    live = write_policy(tmp_path, waiver.format("2999-12-31"))
    doc = check_json("--policy", live, "--kernel-version", "2.6.24", "--crashkernel", "4MiB", img, rc=1)
    assert result(doc, "sparc64.image-8mib")["status"] == "waived"
    assert result(doc, "sparc64.image-8mib")["waiver"]["reason"] == "tracked in BUG-1"
    assert result(doc, "kdump.crashkernel-fit")["status"] == "fail"  # not silenced: exit stays 1
    doc = check_json("--policy", live, "--kernel-version", "2.6.24", img, rc=0)
    assert doc["summary"]["waived"] == 1
    expired = write_policy(tmp_path, waiver.format("2000-01-01"))
    doc = check_json("--policy", expired, "--kernel-version", "2.6.24", img, rc=1)
    r = result(doc, "sparc64.image-8mib")
    assert r["status"] == "fail" and any("expired" in line for line in r["arithmetic"])


def test_policy_found_upward_and_custom_limit(tmp_path: Path) -> None:
    write_policy(tmp_path, '[[limit]]\nid = "our.flash"\ntitle = "flash partition"\nmeasure = "bss"\n'
                           'bound = "8KiB"\nsources = ["our board manual"]\n')
    sub = tmp_path / "sub"
    sub.mkdir()
    img = str((SAMPLES / "sparc64-smp.elf").resolve())
    code, stdout, stderr = run_cli(["check", "--format", "json", img], cwd=sub, drop=())
    assert code == 1, stderr
    doc = json.loads(stdout)
    r = result(doc, "our.flash")
    assert r["measured"] == recorded_bss("sparc64-smp") == 8772 and r["bound"] == 8192
    assert doc["inputs"]["policy"] == str(tmp_path / "cpualloc.toml")


def test_malformed_policy_exits_3_naming_file_and_key(tmp_path: Path) -> None:
    bad = write_policy(tmp_path, '[[waiver]]\nrule = "sparc64.image-8mib"\n')
    code, out, err = run_cli(["check", "--policy", bad, str(SAMPLES / "sparc64-smp.elf")])
    assert code == 3 and out == ""
    assert err.strip() == f"cpualloc: error: {bad}: waiver[0].reason: missing; every waiver needs a reason"


def test_budget_against_a_baseline(tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    code, out, _ = run_cli(["check", "--format", "json", "--kernel-version", "2.6.24", "-o", str(base),
                            str(SAMPLES / "sparc64-smp.elf")])
    assert code == 0
    old, new = recorded_bss("sparc64-smp"), recorded_bss("sparc64-cpuarea-nr64")  # 8772 -> 8397380
    doc = check_json("--kernel-version", "2.6.24", "--baseline", str(base), "--budget", "bss=+1%",
                     "--budget", "text=+0%", str(SAMPLES / "sparc64-cpuarea-nr64.elf"), rc=1)
    by = {b["measure"]: b for b in doc["budgets"]}
    assert by["bss"]["status"] == "fail"
    assert by["bss"]["baseline"] == old and by["bss"]["current"] == new
    assert by["bss"]["allowed"] == old + int(old * 0.01)  # 8772 + 87
    assert by["text"]["status"] == "pass"  # same .text in both fixtures (size.txt: 352 and 352)


def test_budget_needs_a_baseline() -> None:
    code, _, err = run_cli(["check", "--budget", "bss=+1%", str(SAMPLES / "sparc64-smp.elf")])
    assert code == 2 and "--baseline" in err


def test_build_dir_finds_config_vmlinux_and_boot_image(tmp_path: Path) -> None:
    build = tmp_path / "O"
    (build / "arch" / "sparc" / "boot").mkdir(parents=True)
    shutil.copy(SAMPLES / "sparc64-nr64-static.config", build / ".config")
    shutil.copy(SAMPLES / "sparc64-smp.elf", build / "vmlinux")
    (build / "arch" / "sparc" / "boot" / "zImage").write_bytes(b"\0" * 5000)
    doc = check_json("--build-dir", str(build), "--load-window", "4KiB", rc=1)
    assert doc["inputs"]["config"] == str(build / ".config")
    assert doc["inputs"]["image"] == str(build / "vmlinux")
    r = result(doc, "boot.load-window")
    assert r["status"] == "fail" and r["measured"] == 5000 and r["bound"] == 4096
    assert result(doc, "sparc64.image-8mib")["status"] == "fail"


def test_module_percpu_against_the_reserve() -> None:
    ko = str(ELF / "aarch64-module-ko" / "fixture.ko")
    # readelf -S: .data..percpu size 0xd0 = 208 bytes; PERCPU_MODULE_RESERVE 8 KiB
    doc = check_json("--kernel-version", "6.1", ko, rc=0)
    r = result(doc, "module.percpu-reserve")
    assert r["status"] == "pass" and r["measured"] == 0xD0 and r["bound"] == 8 * KiB
    assert "x86.kernel-image-size" not in {x["rule"] for x in doc["results"]}


def test_module_without_percpu_section_needs_nothing_from_the_reserve(tmp_path: Path) -> None:
    """A module with no .data..percpu takes no per-cpu memory: the loader's find_sec() gives
    section 0 (sh_size 0) and percpu_modalloc() returns 0 (linux-6.1 kernel/module/main.c:178-190,
    371-377). Measured 0 B, so it passes; it is not "skipped for lack of input"."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("needs gcc")
    src = tmp_path / "m.c"
    src.write_text('int counter;\nconst char modinfo[] __attribute__((section(".modinfo"))) = "license=GPL";\n'
                   "int f(void) { return counter; }\n")
    ko = tmp_path / "m.ko"
    subprocess.run([gcc, "-c", "-O2", "-o", str(ko), str(src)], check=True)
    readelf = shutil.which("readelf")
    if readelf is not None:  # the oracle: binutils sees no per-cpu section
        assert ".data..percpu" not in subprocess.run([readelf, "-SW", str(ko)], capture_output=True, text=True,
                                                     check=True).stdout
    doc = check_json("--kernel-version", "6.1", str(ko), rc=0)
    r = result(doc, "module.percpu-reserve")
    assert r["status"] == "pass" and r["measured"] == 0 and r["bound"] == 8 * KiB


def test_nothing_to_check_is_a_usage_error() -> None:
    code, _, err = run_cli(["check"])
    assert code == 2 and re.search(r"nothing to check", err)


def test_limits_lists_the_database_with_sources() -> None:
    code, out, _ = run_cli(["limits", "--arch", "sparc64", "--kernel-version", "2.6.24", "--format", "json"])
    assert code == 0
    doc = json.loads(out)
    ids = {lim["id"] for lim in doc["limits"]}
    assert "sparc64.image-8mib" in ids and "sparc64.image-locked-tlb" not in ids and "x86.kernel-image-size" not in ids
    assert all(lim["sources"] for lim in doc["limits"])
    code, out, _ = run_cli(["limits", "--arch", "sparc64"])
    assert code == 0 and "linux-kernel (LKML) 2007-11-13, David Miller" in out and "shared/reference" not in out


def test_waiver_for_an_unknown_rule_is_warned_about(tmp_path: Path) -> None:
    pol = write_policy(tmp_path, '[[waiver]]\nrule = "sparc64.image-8mb"\nreason = "typo in the id"\n')
    code, _, err = run_cli(["check", "--policy", pol, "--kernel-version", "2.6.24",
                            str(SAMPLES / "sparc64-cpuarea-nr64.elf")])
    assert code == 1  # the typo silences nothing
    assert "waiver for unknown rule 'sparc64.image-8mb'" in err
