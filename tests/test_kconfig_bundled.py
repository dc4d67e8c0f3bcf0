"""The bundled model (kconfig/), per arch. Every expected value is worked out by hand from
the Kconfig text quoted in the comment next to it (kconfig/Kconfig.arch, Kconfig.percpu,
Kconfig.kernel), never copied from cpualloc's output."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpualloc_cli.adapters.kconfig import ConfigRequest, load_resolved_config
from cpualloc_cli.model.config import Origin, ResolvedConfig


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


def resolve(arch: str | None = None, sets: tuple[tuple[str, str], ...] = (), text: str | None = None,
            display: str = "frag.config") -> ResolvedConfig:
    return load_resolved_config(ConfigRequest(arch=arch, sets=sets, config_text=text,
                                              config_display=display if text is not None else None)).resolved


def rules(rc: ResolvedConfig, rule: str) -> list[str]:
    return [f.message for f in rc.findings if f.rule == rule]


# (arch, default NR_CPUS, (low, high), an out-of-range value, PAGE_SHIFT, design)
# Hand-derived from kconfig/Kconfig.arch:
#   sparc64: range 2 1024, default "64"        (2.6.24 arch/sparc64/Kconfig)
#   sparc32: range 2 32, default "32"          (reconstruction)
#   x86_64:  range 2 255, default "8"          (2.6.24 arch/x86/Kconfig.x86_64)
#   i386:    range 2 255, default "8" (no NUMAQ/SUMMIT/BIGSMP/ES7000 subarch)
#   ia64:    range 2 1024, default "1024"
#   arm64:   range 2 4096, default "256"       (6.1)
#   powerpc: range 2 8192 if SMP, default "32" if PPC64, "4"   (6.1, PPC64=n)
#   riscv:   range 2 512 if !RISCV_SBI_V01, default "64" if 64BIT (6.1, RV64)
#   mips:    range 2 256, no default without NR_CPUS_DEFAULT_*: the range's low end, 2
#   s390:    range 2 512, default "64"         (6.1)
# PAGE_SHIFT: sparc64 8 KiB -> 13, ia64 16 KiB -> 14, others 4 KiB -> 12.
# Design: static for the 2.6.24 arches, virtual for ia64, first chunk for 6.1 arches.
PER_ARCH = [
    ("sparc64", 64, (2, 1024), 2048, 13, "cpu_alloc_static", "2.6.24"),
    ("sparc32", 32, (2, 32), 64, 12, "cpu_alloc_static", "2.6.24"),
    ("x86_64", 8, (2, 255), 256, 12, "cpu_alloc_static", "2.6.24"),
    ("i386", 8, (2, 255), 256, 12, "cpu_alloc_static", "2.6.24"),
    ("ia64", 1024, (2, 1024), 4096, 14, "cpu_alloc_virtual", "2.6.24"),
    ("arm64", 256, (2, 4096), 8192, 12, "percpu_first_chunk", "6.1"),
    ("powerpc", 4, (2, 8192), 8193, 12, "percpu_first_chunk", "6.1"),
    ("riscv", 64, (2, 512), 513, 12, "percpu_first_chunk", "6.1"),
    ("mips", 2, (2, 256), 257, 12, "percpu_first_chunk", "6.1"),
    ("s390", 64, (2, 512), 1024, 12, "percpu_first_chunk", "6.1"),
]


@pytest.mark.parametrize("arch,default,rng,bad,page_shift,design,version", PER_ARCH)
def test_default_nr_cpus(arch: str, default: int, rng: tuple[int, int], bad: int, page_shift: int, design: str,
                         version: str) -> None:
    rc = resolve(arch)
    assert rc.arch == arch
    assert rc.kernel_version == version and rc.kernel_version_source == "bundled model"
    assert rc.get_int("NR_CPUS") == default
    assert rc.details["NR_CPUS"].range == rng
    assert rc.details["NR_CPUS"].origin == Origin.DEFAULT
    assert rc.get_int("PAGE_SHIFT") == page_shift
    assert rc.values["PERCPU_DESIGN"] == design
    assert rc.values["SMP"] == "y"
    assert not [f for f in rc.findings if f.severity.rank >= 1]


@pytest.mark.parametrize("arch,default,rng,bad,page_shift,design,version", PER_ARCH)
def test_out_of_range_falls_back_to_default(arch: str, default: int, rng: tuple[int, int], bad: int,
                                            page_shift: int, design: str, version: str) -> None:
    # conf and kconfiglib ignore an out-of-range user value and use the default: never clamp
    rc = resolve(arch, text=f"CONFIG_NR_CPUS={bad}\n")
    assert rc.get_int("NR_CPUS") == default
    if default != rng[1]:
        assert rc.get_int("NR_CPUS") != rng[1]  # not clamped to the top of the range
    d = rc.details["NR_CPUS"]
    assert d.origin == Origin.OUT_OF_RANGE_DEFAULT and d.given == str(bad)
    [f] = [f for f in rc.findings if f.rule == "config.out-of-range"]
    assert (f.path, f.line, f.symbol) == ("frag.config", 1, "NR_CPUS")
    assert f"{rng[0]}..{rng[1]}" in f.message and str(bad) in f.message and f"default {default}" in f.message


def test_i386_nr_cpus_256_is_out_of_range() -> None:
    # The thread: "NR_CPUS is defaulted to 32 on i386 (with a limit of 256)"; the Kconfig
    # says range 2 255. 256 is out of range -> the default: 8 (X86_PC), or 32 with BIGSMP.
    rc = resolve("i386", sets=(("NR_CPUS", "256"),))
    assert rc.get_int("NR_CPUS") == 8
    assert rules(rc, "config.out-of-range")
    rc = resolve("i386", sets=(("X86_BIGSMP", "y"), ("NR_CPUS", "256")))
    assert rc.get_int("NR_CPUS") == 32  # default "32" if ... X86_BIGSMP ...
    rc = resolve("i386", sets=(("NR_CPUS", "255"),))
    assert rc.get_int("NR_CPUS") == 255 and rc.details["NR_CPUS"].origin == Origin.SET


@pytest.mark.parametrize("arch", ["sparc64", "sparc32", "x86_64", "i386", "ia64", "riscv", "mips"])
def test_unmet_dependency_smp(arch: str) -> None:
    # NR_CPUS "depends on SMP" on these arches: with SMP=n the assignment does not take and
    # NR_CPUS is not written at all
    rc = resolve(arch, text="# CONFIG_SMP is not set\nCONFIG_NR_CPUS=16\n")
    assert rc.values["SMP"] == "n"
    assert "NR_CPUS" not in rc.values
    [f] = [f for f in rc.findings if f.rule == "config.not-taken"]
    assert (f.line, f.symbol) == (2, "NR_CPUS")
    assert "SMP [=n]" in f.message
    assert rc.details["NR_CPUS"].unmet_dependency is not None
    assert "SMP [=n]" in rc.details["NR_CPUS"].unmet_dependency


def test_powerpc_nr_cpus_without_smp_is_1() -> None:
    # 6.1: int "..." if SMP; default "1" if !SMP
    rc = resolve("powerpc", sets=(("SMP", "n"), ("NR_CPUS", "8")))
    assert rc.get_int("NR_CPUS") == 1
    assert any("NR_CPUS=8 did not take" in m for m in rules(rc, "config.not-taken"))
    rc = resolve("powerpc64")
    assert rc.arch == "powerpc64" and rc.get_int("NR_CPUS") == 32 and rc.values["64BIT"] == "y"


def test_arm64_unmet_dependency_and_page_size() -> None:
    # NODES_SHIFT depends on NUMA; NUMA has no default
    rc = resolve("arm64", sets=(("NODES_SHIFT", "6"),))
    assert "NODES_SHIFT" not in rc.values
    assert any("NUMA [=n]" in m for m in rules(rc, "config.not-taken"))
    rc = resolve("arm64", sets=(("NUMA", "y"), ("NODES_SHIFT", "6")))
    assert rc.get_int("NODES_SHIFT") == 6  # range 1 10
    rc = resolve("arm64", sets=(("ARM64_64K_PAGES", "y"),))
    assert rc.get_int("PAGE_SHIFT") == 16


def test_riscv_sbi_v01_narrows_the_range() -> None:
    # range 2 64 if RISCV_SBI_V01 && 64BIT -> 128 is out of range, default "64"
    rc = resolve("riscv", sets=(("RISCV_SBI_V01", "y"), ("NR_CPUS", "128")))
    assert rc.get_int("NR_CPUS") == 64 and rc.details["NR_CPUS"].range == (2, 64)


def test_x86_64_maxsmp_needs_debug_kernel_and_selects_cpumask_offstack() -> None:
    rc = resolve("x86_64", sets=(("MAXSMP", "y"),))
    assert rc.values["MAXSMP"] == "n"
    assert any("DEBUG_KERNEL [=n]" in m for m in rules(rc, "config.not-taken"))
    rc = resolve("x86_64", sets=(("DEBUG_KERNEL", "y"), ("MAXSMP", "y")))
    assert rc.values["CPUMASK_OFFSTACK"] == "y"
    assert rc.details["CPUMASK_OFFSTACK"].origin == Origin.SELECT


def test_lockdep_comes_from_a_select() -> None:
    rc = resolve("x86_64", sets=(("DEBUG_KERNEL", "y"), ("PROVE_LOCKING", "y")))
    assert rc.values["LOCKDEP"] == "y" and rc.details["LOCKDEP"].origin == Origin.SELECT


def test_cpu_alloc_orders() -> None:
    # ia64 RFC: CPU_AREA_VIRTUAL=y, ORDER 13, ALLOC_ORDER 0 (16 KiB << 13 = 128 MiB per CPU)
    rc = resolve("ia64")
    assert (rc.values["CPU_AREA_VIRTUAL"], rc.get_int("CPU_AREA_ORDER"), rc.get_int("CPU_AREA_ALLOC_ORDER")) == \
        ("y", 13, 0)
    assert (1 << rc.get_int("PAGE_SHIFT", 0)) << rc.get_int("CPU_AREA_ORDER", 0) == 128 << 20
    # sparc64 reconstruction: 8 KiB << 4 = 128 KiB per CPU; x 64 CPUs = 8 MiB
    rc = resolve("sparc64")
    assert (1 << rc.get_int("PAGE_SHIFT", 0)) << rc.get_int("CPU_AREA_ORDER", 0) == 128 << 10
    assert rc.get_int("NR_CPUS", 0) * (128 << 10) == 8 << 20
    # i386 reconstruction: 4 KiB << 6 = 256 KiB per CPU
    rc = resolve("i386")
    assert (1 << rc.get_int("PAGE_SHIFT", 0)) << rc.get_int("CPU_AREA_ORDER", 0) == 256 << 10
    assert "CPU_AREA_ALLOC_ORDER" not in rc.values  # depends on the virtual design
    # the design choice is user-settable; the first chunk has no CPU_AREA_ORDER
    rc = resolve("x86_64", sets=(("PERCPU_DESIGN_FIRST_CHUNK", "y"),))
    assert rc.values["PERCPU_DESIGN"] == "percpu_first_chunk" and "CPU_AREA_ORDER" not in rc.values
    assert rc.details["PERCPU_DESIGN"].origin == Origin.DEFAULT


def test_origins_file_and_set() -> None:
    rc = resolve("sparc64", text="CONFIG_NR_CPUS=32\nCONFIG_MODULES=y\n", sets=(("NR_CPUS", "128"),))
    assert rc.get_int("NR_CPUS") == 128 and rc.details["NR_CPUS"].origin == Origin.SET
    assert rc.values["MODULES"] == "y" and rc.details["MODULES"].origin == Origin.FILE
    assert rc.details["NR_CPUS"].defined_at is not None
    assert rc.details["NR_CPUS"].defined_at[0] == "Kconfig.arch"


def test_arch_inferred_from_a_real_config() -> None:
    cfg = Path(__file__).parent / "fixtures" / "kconfig" / "sparc64-tiny-nr64.input.xz"
    import lzma

    text = lzma.decompress(cfg.read_bytes()).decode()
    rc = resolve(None, text=text, display="sparc64.config")
    # the real config says CONFIG_SPARC64=y, CONFIG_SMP=y, CONFIG_NR_CPUS=64
    assert rc.arch == "sparc64" and rc.get_int("NR_CPUS") == 64 and rc.details["NR_CPUS"].origin == Origin.FILE
    # a 6.1 config ("# Linux/sparc64 6.1.192 Kernel Configuration") is outside the bundled
    # model's 2.6.24 era: taken as written, said in one info finding, not re-resolved
    [info] = [f for f in rc.findings if f.rule == "config.taken-as-written"]
    assert info.severity.value == "info"
    assert rc.kernel_version == "6.1.192" and rc.kernel_version_source == ".config header"


def test_malformed_lines_and_unknown_set() -> None:
    rc = resolve("x86_64", text="CONFIG_SMP=y\nthis is not a config line\nCONFIG_NR_CPUS=abc\n",
                 sets=(("NO_SUCH_SYMBOL", "y"),))
    [m] = [f for f in rc.findings if f.rule == "config.malformed-line"]
    assert m.line == 2
    assert [f.line for f in rc.findings if f.rule == "config.invalid-value"] == [3]
    assert rc.get_int("NR_CPUS") == 8
    assert [f.symbol for f in rc.findings if f.rule == "config.unknown-symbol" and f.severity.value == "warning"] \
        == ["NO_SUCH_SYMBOL"]


def test_every_value_is_recorded() -> None:
    rc = resolve("x86_64")
    # bools are recorded even when n and invisible; ints only when written
    assert rc.values["ARCH_SPARC64"] == "n" and rc.values["ARCH_X86_64"] == "y"
    assert rc.values["PHYSICAL_START"] == "0x200000"
    assert rc.values["CPUALLOC_ARCH"] == "x86_64"


@pytest.mark.parametrize("arch", [a[0] for a in PER_ARCH] + ["powerpc64"])
def test_written_config_is_a_fixed_point(arch: str) -> None:
    # like `make olddefconfig` twice: feeding the written .config back changes nothing and
    # raises no finding
    first = load_resolved_config(ConfigRequest(arch=arch))
    again = load_resolved_config(ConfigRequest(config_text=first.config_text, config_display="w.config"))
    assert again.resolved.arch == arch
    assert again.resolved.values == first.resolved.values
    assert again.resolved.findings == ()
    assert again.config_text == first.config_text


def test_arch_option_wins_over_the_file() -> None:
    rc = resolve("ia64", text="CONFIG_ARCH_SPARC64=y\nCONFIG_NR_CPUS=2000\n")
    # ia64: range 2 1024, default "1024"
    assert rc.arch == "ia64" and rc.get_int("NR_CPUS") == 1024
    assert any("ARCH_SPARC64=y did not take" in m for m in rules(rc, "config.not-taken"))
