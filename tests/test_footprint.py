"""Footprint of each design: the cases of the November 2007 cpu_alloc thread, by hand.

Image facts used as a base come from GNU binutils output recorded beside the shared kernels
(../shared/kernels/sparc64-tiny-nr64/size.txt and readelf-s.txt.xz), copied here as numbers:
    size.txt:     text 1437036  data 306544  bss 74864
    readelf -s:   _end = 0x5c8470, KERNBASE = 0x400000 (arch/sparc/include/asm/page_64.h)
so the loader extent is 0x5c8470 - 0x400000 = 0x1c8470 = 1,868,912 B.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpualloc_cli.analysis.footprint import (
    choose_design,
    compute_footprint,
    compute_percpu_design,
    compute_percpu_params,
    compute_static_design,
    compute_virtual_design,
    compute_vmalloc_design,
    evaluate_limits,
)
from cpualloc_cli.analysis.inputs import build_inputs, parse_kernel_version
from cpualloc_cli.model.config import Origin, ResolvedConfig, SymbolValue
from cpualloc_cli.model.footprint import Design, FootprintInputs, Provenance
from cpualloc_cli.model.measures import Measure

MiB = 1 << 20
SPARC64_BSS = 74_864
SPARC64_EXTENT = 0x5C8470 - 0x400000  # 1,868,912


def sparc64(nr_cpus: int = 64, **kw: object) -> FootprintInputs:
    base = {"arch": "sparc64", "kernel_version": (2, 6, 24), "bits": 64, "page_size": 8192, "nr_cpus": nr_cpus,
            "possible_cpus": nr_cpus, "cpu_area_order": 4, "alloc_order": 0, "base_bss_bytes": SPARC64_BSS,
            "base_extent_bytes": SPARC64_EXTENT, "percpu_static_bytes": 0x4158}
    base.update(kw)
    return FootprintInputs(**base)  # type: ignore[arg-type]


def test_extent_base_is_hand_arithmetic() -> None:
    assert SPARC64_EXTENT == 1_868_912


def test_sparc64_static_nr64_is_8mib_and_over_the_ceiling() -> None:
    fp = compute_static_design(sparc64())
    # 64 x (8192 << 4) = 64 x 131,072 = 8,388,608 B = 8 MiB ("bloated ... by 8mb")
    assert fp.measures[Measure.CPU_AREA] == 64 * 131_072 == 8_388_608
    # BSS = 74,864 + 8,388,608 = 8,463,472 > 8 MiB
    assert fp.measures[Measure.BSS] == 8_463_472
    # extent = 1,868,912 + 8,388,608 = 10,257,520 > 8 MiB
    assert fp.measures[Measure.IMAGE_EXTENT] == 10_257_520
    assert fp.measures[Measure.PERCPU_RESIDENT] == 8_388_608  # BSS is always backed
    over = evaluate_limits(fp, [(Measure.IMAGE_EXTENT, 8 * MiB), (Measure.BSS, 8 * MiB)])
    assert [f.rule for f in over] == ["limit.image_extent", "limit.bss"]
    assert "by 1,868,912 B" in over[0].message  # 10,257,520 - 8,388,608
    assert any("64 x (8192 << 4)" in line and "8,388,608" in line for line in fp.explain)


def test_sparc64_virtual_bss_grows_tens_of_bytes() -> None:
    static = compute_static_design(sparc64())
    virtual = compute_virtual_design(sparc64())
    # the allocator's own BSS: `size mm/cpu_alloc.o` -> bss 44
    assert virtual.measures[Measure.BSS] - SPARC64_BSS == 44
    assert virtual.measures[Measure.IMAGE_EXTENT] == SPARC64_EXTENT + 44
    # the address space reserved is the same 8 MiB, at CPU_AREA_BASE
    assert virtual.measures[Measure.ADDRESS_SPACE] == static.measures[Measure.CPU_AREA] == 8 * MiB
    # resident: in use = 16,728 static + 8,192 reserve = 24,920 -> 4 pages of 8 KiB = 32,768 per CPU;
    # 64 x 32,768 = 2,097,152
    assert virtual.measures[Measure.PERCPU_RESIDENT] == 2_097_152
    assert evaluate_limits(virtual, [(Measure.IMAGE_EXTENT, 8 * MiB)]) == ()


def test_virtual_alloc_order_rounds_resident() -> None:
    # order 2 blocks = 32 KiB: 24,920 -> 32,768 per CPU still; order 3 = 64 KiB -> 65,536
    assert compute_virtual_design(sparc64(alloc_order=3)).measures[Measure.PERCPU_RESIDENT] == 64 * 65_536
    # with 10 possible CPUs: 10 x 32,768
    assert compute_virtual_design(sparc64(possible_cpus=10)).measures[Measure.PERCPU_RESIDENT] == 327_680


def test_virtual_area_too_small_is_an_error() -> None:
    fp = compute_virtual_design(sparc64(cpu_area_order=0))  # 8 KiB area < 24,920 in use
    assert [f.rule for f in fp.findings] == ["footprint.area-too-small"]


def i386(nr_cpus: int, **kw: object) -> FootprintInputs:
    base = {"arch": "i386", "kernel_version": (2, 6, 24), "bits": 32, "page_size": 4096, "nr_cpus": nr_cpus,
            "possible_cpus": nr_cpus, "cpu_area_order": 6, "alloc_order": 0}
    base.update(kw)
    return FootprintInputs(**base)  # type: ignore[arg-type]


def test_i386_vmalloc_255_cpus_is_half_of_vmalloc() -> None:
    fp = compute_vmalloc_design(i386(255))
    # 255 x (4096 << 6) = 255 x 262,144 = 66,846,720 B
    assert fp.measures[Measure.ADDRESS_SPACE] == 255 * 262_144 == 66_846_720
    # 66,846,720 / 134,217,728 (128 MiB) = 0.498046875 -> 49.8 %
    assert fp.measures[Measure.VMALLOC_SHARE] == pytest.approx(0.498046875)
    assert f"{fp.measures[Measure.VMALLOC_SHARE]:.1%}" == "49.8%"
    assert any("49.8%" in line for line in fp.explain)
    # Dumazet's "256*256KB = 64 MB ... half the typical vmalloc area"
    assert compute_vmalloc_design(i386(256)).measures[Measure.VMALLOC_SHARE] == 0.5


def test_i386_nr_cpus_256_out_of_range_falls_back_and_says_so() -> None:
    # What the Kconfig layer hands over for `--arch i386 --set NR_CPUS=256` with 2.6.24's range 2..255:
    # the value is ignored, the default (8) is used (never clamped), origin OUT_OF_RANGE_DEFAULT.
    cfg = ResolvedConfig(
        arch="i386", kernel_version="2.6.24", kernel_version_source="bundled model",
        values={"NR_CPUS": "8", "SMP": "y", "PAGE_SHIFT": "12", "CPU_AREA_ORDER": "6", "64BIT": "n"},
        details={"NR_CPUS": SymbolValue("NR_CPUS", "8", "int", Origin.OUT_OF_RANGE_DEFAULT, range=(2, 255),
                                        given="256")})
    built = build_inputs(cfg, None)
    assert built.inputs.nr_cpus == 8
    assert built.nr_cpus_range == (2, 255)
    rules = [f.rule for f in built.findings]
    assert "footprint.nr-cpus-out-of-range" in rules
    msg = next(f.message for f in built.findings if f.rule == "footprint.nr-cpus-out-of-range")
    assert msg == "NR_CPUS=256 is out of range (range 2..255); the default 8 is used"
    fp = compute_vmalloc_design(built.inputs)
    assert fp.measures[Measure.ADDRESS_SPACE] == 8 * 262_144  # 2,097,152


def test_modern_percpu_worked_example_through_the_params() -> None:
    # x86_64 6.1, MODULES=y: reserved = 8,192, dyn = 8,192 + 28,672 - 8,192 = 28,672, atom 2 MiB
    inp = FootprintInputs(arch="x86_64", kernel_version=(6, 1), bits=64, page_size=4096, nr_cpus=64,
                          possible_cpus=8, cpu_area_order=6, alloc_order=0, percpu_static_bytes=80_472)
    p = compute_percpu_params(inp)
    assert (p.reserved, p.dyn, p.atom, p.early) == (8_192, 28_672, 2 * MiB, 12_288)
    fp = compute_percpu_design(inp)
    assert fp.measures[Measure.PERCPU_UNIT] == 262_144
    assert fp.measures[Measure.ADDRESS_SPACE] == 2 * MiB
    assert fp.measures[Measure.PERCPU_RESIDENT] == 8 * 118_784
    assert fp.measures[Measure.PERCPU_STATIC] == 80_472


def test_percpu_params_by_arch_and_version() -> None:
    def params(arch: str, bits: int, ver: tuple[int, ...], **kw: bool) -> tuple[int, int, int, int]:
        inp = FootprintInputs(arch=arch, kernel_version=ver, bits=bits, page_size=4096, nr_cpus=8, possible_cpus=8,
                              cpu_area_order=6, alloc_order=0, **kw)  # type: ignore[arg-type]
        p = compute_percpu_params(inp)
        return p.reserved, p.dyn, p.atom, p.early

    # i386 6.1 (setup_percpu.c:52-53, 140-141): reserved 0, dyn = 8,192 + 20,480 - 0 = 28,672, atom PAGE_SIZE
    assert params("i386", 32, (6, 1)) == (0, 28_672, 4096, 12_288)
    assert params("i386", 32, (6, 1), modules=False) == (0, 20_480, 4096, 12_288)
    # x86_64 without modules: reserved 0, dyn = 0 + 28,672 - 0
    assert params("x86_64", 64, (6, 1), modules=False) == (0, 28_672, 2 * MiB, 12_288)
    # sparc64: atom 4 MiB (smp_64.c:1529-1530)
    assert params("sparc64", 64, (6, 1))[2] == 4 * MiB
    # arm64 (generic): PERCPU_MODULE_RESERVE, PERCPU_DYNAMIC_RESERVE, PAGE_SIZE
    assert params("arm64", 64, (6, 1)) == (8_192, 28_672, 4096, 12_288)
    # 6.12: EARLY = 20 << 10; RANDOM_KMALLOC_CACHES: shift 12 -> dyn 28 << 12 = 114,688, EARLY 81,920
    assert params("arm64", 64, (6, 12)) == (8_192, 28_672, 4096, 20_480)
    assert params("arm64", 64, (6, 12), random_kmalloc_caches=True) == (8_192, 114_688, 4096, 81_920)
    # 6.12 MEM_ALLOC_PROFILING: module reserve 8 << 13 = 65,536
    assert params("arm64", 64, (6, 12), mem_alloc_profiling=True)[0] == 65_536
    # x86_64 6.12 with profiling: reserved 65,536, dyn = 65,536 + 28,672 - 65,536 = 28,672
    assert params("x86_64", 64, (6, 12), mem_alloc_profiling=True)[:2] == (65_536, 28_672)


def test_design_precedence() -> None:
    assert choose_design(Design.VMALLOC, (Design.VIRTUAL, "x"), "sparc64", (2, 6, 24))[0] is Design.VMALLOC
    d, why = choose_design(None, (Design.VIRTUAL, "PERCPU_DESIGN_CPU_ALLOC_VIRTUAL=y"), "sparc64", (2, 6, 24))
    assert d is Design.VIRTUAL and "PERCPU_DESIGN_CPU_ALLOC_VIRTUAL=y" in why
    assert choose_design(None, None, "sparc64", (2, 6, 24))[0] is Design.STATIC
    assert choose_design(None, None, "ia64", (2, 6, 24))[0] is Design.VIRTUAL
    assert choose_design(None, None, "sparc64", (6, 1))[0] is Design.PERCPU


def test_footprint_report_and_inputs_provenance() -> None:
    cfg = ResolvedConfig(arch="sparc64", kernel_version="2.6.24", kernel_version_source="bundled model",
                         values={"NR_CPUS": "64", "PAGE_SHIFT": "13", "SMP": "y", "MODULES": "y"},
                         details={"PERCPU_DESIGN_CPU_ALLOC_STATIC": SymbolValue(
                             "PERCPU_DESIGN_CPU_ALLOC_STATIC", "y", "bool", Origin.DEFAULT)})
    built = build_inputs(cfg, None, possible_cpus=4)
    facts = {f.name: f for f in built.inputs.facts}
    assert facts["page_size"].value == 8192 and facts["page_size"].provenance is Provenance.CONFIG
    assert facts["possible_cpus"].provenance is Provenance.COMMAND_LINE
    assert facts["base_bss_bytes"].provenance is Provenance.DEFAULT
    assert facts["percpu_static_bytes"].provenance is Provenance.DEFAULT  # the sparc64 estimate
    assert built.config_design is None  # a Kconfig default is the arch default, not a config choice
    report = compute_footprint(built.inputs, list(Design), Design.STATIC, "why")
    assert [d.design for d in report.designs] == list(Design)
    assert report.designs[0].measures[Measure.CPU_AREA] == 8 * MiB


def test_parse_kernel_version() -> None:
    assert parse_kernel_version("Linux version 6.1.192 (root@vm) (gcc ...)") == (6, 1, 192)
    assert parse_kernel_version("2.6.24") == (2, 6, 24)
    assert parse_kernel_version("6.1") == (6, 1)
    assert parse_kernel_version("none") is None


def test_possible_cpus_above_nr_cpus_is_capped() -> None:
    cfg = ResolvedConfig(arch="x86_64", kernel_version="6.1", kernel_version_source="test",
                         values={"NR_CPUS": "64", "SMP": "y"})
    built = build_inputs(cfg, None, possible_cpus=100)
    assert built.inputs.possible_cpus == 64
    assert [f.rule for f in built.findings] == ["footprint.possible-exceeds-nr-cpus"]


def test_smp_off_means_one_cpu() -> None:
    cfg = ResolvedConfig(arch="x86_64", kernel_version="6.1", kernel_version_source="test",
                         values={"NR_CPUS": "64", "SMP": "n"})
    assert build_inputs(cfg, None).inputs.nr_cpus == 1


@settings(max_examples=150, deadline=None)
@given(nr=st.integers(1, 8192), order=st.integers(0, 8), page=st.sampled_from([4096, 8192, 16384]),
       static=st.integers(0, 400_000), possible_frac=st.floats(0.01, 1.0))
def test_design_invariants(nr: int, order: int, page: int, static: int, possible_frac: float) -> None:
    possible = max(1, int(nr * possible_frac))
    inp = FootprintInputs(arch="x86_64", kernel_version=(6, 1), bits=64, page_size=page, nr_cpus=nr,
                          possible_cpus=possible, cpu_area_order=order, alloc_order=0, percpu_static_bytes=static,
                          base_bss_bytes=1000, base_extent_bytes=5000)
    area = page << order
    st_fp = compute_static_design(inp)
    assert st_fp.measures[Measure.CPU_AREA] == nr * area
    assert st_fp.measures[Measure.BSS] == 1000 + nr * area
    v = compute_virtual_design(inp)
    assert v.measures[Measure.BSS] == 1044
    assert v.measures[Measure.PERCPU_RESIDENT] % page == 0
    assert v.measures[Measure.PERCPU_RESIDENT] >= possible * (static + 8192)
    pc = compute_percpu_design(inp)
    assert pc.percpu is not None
    assert pc.measures[Measure.PERCPU_RESIDENT] == possible * pc.percpu.size_sum
    assert pc.measures[Measure.ADDRESS_SPACE] >= pc.measures[Measure.PERCPU_UNIT] * possible
    # the first chunk uses at least 3/4 of what it maps (the one-third rule), unless upa is 1
    if pc.percpu.upa > 1:
        assert pc.percpu.nr_units - possible <= possible // 3


def test_bad_orders_and_nr_cpus_fall_back_with_findings() -> None:
    cfg = ResolvedConfig(arch="sparc64", kernel_version="2.6.24", kernel_version_source="test",
                         values={"NR_CPUS": "0", "CPU_AREA_ORDER": "-1", "CPU_AREA_ALLOC_ORDER": "99", "SMP": "y"})
    built = build_inputs(cfg, None)
    assert (built.inputs.nr_cpus, built.inputs.cpu_area_order, built.inputs.alloc_order) == (64, 4, 0)
    assert sorted(f.rule for f in built.findings) == ["footprint.bad-nr-cpus", "footprint.bad-order",
                                                      "footprint.bad-order"]
    assert [f.value for f in built.inputs.facts if f.name == "nr_cpus"] == [64]


def test_ia64_cpu_area_base_follows_page_size() -> None:
    # RGN_BASE(RGN_GATE) = 5 << 61 = 0xa000000000000000; 16 KiB pages: + (3 << (4*14 - 11)) = + 0x600000000000
    cfg = ResolvedConfig(arch="ia64", kernel_version="2.6.24", kernel_version_source="test",
                         values={"NR_CPUS": "4", "PAGE_SHIFT": "14", "SMP": "y"})
    assert build_inputs(cfg, None).inputs.cpu_area_base == 0xA000600000000000
    # 64 KiB pages: + (3 << (4*16 - 11)) = + 0x60000000000000 -> the RFC's 55-bit layout "cpu area" line
    cfg64 = ResolvedConfig(arch="ia64", kernel_version="2.6.24", kernel_version_source="test",
                           values={"NR_CPUS": "4", "PAGE_SHIFT": "16", "SMP": "y"})
    assert build_inputs(cfg64, None).inputs.cpu_area_base == 0xA060000000000000
    assert build_inputs(ResolvedConfig(arch="sparc64", kernel_version="2.6.24", kernel_version_source="t",
                                       values={}), None).inputs.cpu_area_base is None
