"""The NR_CPUS sweep: exact largest value per limit, over every integer (hand arithmetic)."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from cpualloc_cli.analysis.sweep import compute_fit, compute_sweep, default_points
from cpualloc_cli.model.footprint import Design, FootprintInputs
from cpualloc_cli.model.measures import Measure

MiB = 1 << 20
SPARC64_EXTENT = 0x5C8470 - 0x400000  # _end - KERNBASE of sparc64-tiny-nr64 (readelf -s): 1,868,912


def sparc64() -> FootprintInputs:
    return FootprintInputs(arch="sparc64", kernel_version=(2, 6, 24), bits=64, page_size=8192, nr_cpus=64,
                           possible_cpus=64, cpu_area_order=4, alloc_order=0, base_bss_bytes=74_864,
                           base_extent_bytes=SPARC64_EXTENT, percpu_static_bytes=0x4158)


def test_largest_sparc64_nr_cpus_under_8mib_static() -> None:
    r = compute_sweep(sparc64(), "NR_CPUS", 2, 1024, default_points(2, 1024), [Design.STATIC],
                      [(Measure.IMAGE_EXTENT, 8 * MiB)])
    (fit,) = r.fits
    # extent(N) = 1,868,912 + N x 131,072 <= 8,388,608  ->  N <= 6,519,696 / 131,072 = 49.74
    # N = 49: 1,868,912 + 6,422,528 = 8,291,440 <= 8,388,608  (fits)
    # N = 50: 1,868,912 + 6,553,600 = 8,422,512 >  8,388,608  (does not)
    assert fit.largest_fitting == 49
    assert fit.smallest_failing == 50
    assert not fit.non_monotonic
    assert r.evaluated == 1023
    # 49 is not a sampled point, yet it is found: the search covers every integer
    assert 49 not in r.points


def test_percpu_span_fit_is_non_monotonic() -> None:
    inp = FootprintInputs(arch="x86_64", kernel_version=(6, 1), bits=64, page_size=4096, nr_cpus=64,
                          possible_cpus=64, cpu_area_order=6, alloc_order=0, percpu_static_bytes=80_472)
    r = compute_sweep(inp, "NR_CPUS", 2, 16, list(range(2, 17)), [Design.PERCPU], [(Measure.ADDRESS_SPACE, 2 * MiB)])
    spans = dict(zip(r.points, r.series[Design.PERCPU][Measure.ADDRESS_SPACE], strict=True))
    # size_sum 118,784, alloc 2 MiB, max upa 16 (see test_percpu.py). Allocations of 2 MiB per N:
    # 5: upa 4 -> 2 allocs wastes 3 > 5 // 3 = 1; upa 2 -> 3 allocs wastes 1 -> 3 allocs.
    # 9..11: upa 4, 3 allocs; 12..16: upa 16 wastes <= 4 <= N // 3 -> 1 alloc.
    allocs = {n: spans[n] // (2 * MiB) for n in spans}
    assert allocs == {2: 1, 3: 1, 4: 1, 5: 3, 6: 1, 7: 1, 8: 1, 9: 3, 10: 3, 11: 3, 12: 1, 13: 1, 14: 1, 15: 1,
                      16: 1}
    (fit,) = r.fits
    assert (fit.largest_fitting, fit.smallest_failing, fit.non_monotonic) == (16, 5, True)


def test_i386_vmalloc_share_fit() -> None:
    inp = FootprintInputs(arch="i386", kernel_version=(2, 6, 24), bits=32, page_size=4096, nr_cpus=8,
                          possible_cpus=8, cpu_area_order=6, alloc_order=0)
    r = compute_sweep(inp, "NR_CPUS", 2, 255, default_points(2, 255), [Design.VMALLOC],
                      [(Measure.VMALLOC_SHARE, 0.25), (Measure.VMALLOC_SHARE, 0.5)])
    quarter, half = r.fits
    # N x 262,144 <= 0.25 x 134,217,728 = 33,554,432 -> N <= 128
    assert (quarter.largest_fitting, quarter.smallest_failing) == (128, 129)
    # half: 255 x 262,144 = 66,846,720 <= 67,108,864: the whole range fits
    assert (half.largest_fitting, half.smallest_failing) == (255, None)


def test_sweep_cpu_area_order() -> None:
    r = compute_sweep(sparc64(), "CPU_AREA_ORDER", 0, 6, list(range(7)), [Design.STATIC],
                      [(Measure.IMAGE_EXTENT, 8 * MiB)])
    # 64 x (8192 << k) + 1,868,912 <= 8,388,608: k = 3 gives 4,194,304 + 1,868,912 = 6,063,216; k = 4 is over
    assert (r.fits[0].largest_fitting, r.fits[0].smallest_failing) == (3, 4)


def test_default_points() -> None:
    assert default_points(2, 255) == (2, 4, 8, 16, 32, 64, 128, 255)
    assert default_points(2, 8192)[-1] == 8192 and len(default_points(2, 8192)) == 13
    assert default_points(3, 3) == (3,)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 100), min_size=1, max_size=50), st.integers(0, 100))
def test_compute_fit_matches_brute_force(measured: list[int], bound: int) -> None:
    values = list(range(1, len(measured) + 1))
    largest, fail, non_mono = compute_fit(values, measured, bound)
    ok = [v for v, m in zip(values, measured, strict=True) if m <= bound]
    bad = [v for v, m in zip(values, measured, strict=True) if m > bound]
    assert largest == (max(ok) if ok else None)
    assert fail == (min(bad) if bad else None)
    assert non_mono == bool(ok and bad and min(bad) < max(ok))


def test_cli_sweep_json_and_text() -> None:
    args = ["sweep", "--arch", "sparc64", "--set", "NR_CPUS=64", "--set", "PAGE_SHIFT=13", "--set", "CPU_AREA_ORDER=4",
            "--from", "2", "--to", "1024", "--design", "static", "--limit", "cpu_area=8MiB", "--static-size", "0",
            "--no-database"]
    rc, out, err = run_cli([*args, "--format", "json"])
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "sweep" and doc["schema_version"] == 1
    fit = doc["fits"][0]
    # cpu area = N x 131,072 <= 8,388,608 -> N <= 64
    assert (fit["largest_fitting"], fit["smallest_failing"], fit["bound"]) == (64, 65, 8_388_608)
    rc, text, err = run_cli(args)
    assert rc == 0, err
    assert "static  cpu_area  8,388,608               64                65" in " ".join(text.split("\n"))
    assert "^  limit 8.00 MiB" in text


def test_cli_sweep_usage_errors() -> None:
    rc, _, err = run_cli(["sweep", "--arch", "i386", "--from", "10", "--to", "2"])
    assert rc == 2 and "above --to" in err
    rc, _, err = run_cli(["sweep", "--arch", "i386", "--limit", "nonsense=1"])
    assert rc == 2 and "unknown measure" in err
    rc, _, err = run_cli(["sweep", "--arch", "i386", "--plot", "x.gif"])
    assert rc == 2 and ".png or .svg" in err


def test_plot_svg(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("matplotlib")
    out = tmp_path / "sweep.svg"
    rc, _, err = run_cli(["sweep", "--arch", "sparc64", "--design", "static", "--limit", "image_extent=8MiB",
                          "--plot", str(out), "--format", "json"])
    assert rc == 0, err
    svg = out.read_text()
    assert svg.startswith("<?xml") and "<svg" in svg
    assert "NR_CPUS" in svg and "limit image_extent" in svg and "static" in svg


def test_plot_without_matplotlib_is_a_usage_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # a stub package that fails to import stands in for a missing matplotlib
    stub = tmp_path / "stub" / "matplotlib"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    out = tmp_path / "x.png"
    rc, stdout, err = run_cli(["sweep", "--arch", "sparc64", "--plot", str(out)],
                              env={"PYTHONPATH": str(tmp_path / "stub")})
    assert rc == 2, err
    assert "--plot needs matplotlib" in err and "cpualloc[plot]" in err
    assert stdout == "" and not out.exists()


def test_cli_sweep_i386_vmalloc_half_and_range_warning() -> None:
    # bundled model, i386 2.6.24: NR_CPUS range 2..255, order 6 -> 256 KiB per CPU
    rc, out, err = run_cli(["sweep", "--arch", "i386", "--design", "vmalloc", "--to", "256", "--values", "2,128,255,256",
                            "--limit", "vmalloc_share=50%", "--format", "json", "--no-database"])
    assert rc == 0, err
    doc = json.loads(out)
    fit = doc["fits"][0]
    # 256 x 262,144 = 67,108,864 = exactly 50 % of 134,217,728: fits (<=), but 256 is outside the
    # Kconfig range 2..255 and cannot be configured: the largest value that fits AND builds is 255
    assert (fit["largest_fitting"], fit["smallest_failing"]) == (255, None)
    assert fit["largest_fitting_unbuildable"] == 256
    assert doc["not_building"] == [{"from": 256, "to": 256, "reason": "outside NR_CPUS's Kconfig range 2..255"}]
    assert doc["range"] == {"from": 2, "to": 256}
    assert [f["rule"] for f in doc["findings"] if f["rule"].startswith("sweep.")] == [
        "sweep.does-not-build", "sweep.outside-kconfig-range"]
    series = doc["series"]["vmalloc"]
    i = doc["points"].index(255)
    assert series["address_space"][i] == 66_846_720


def test_cli_sweep_text_equals_json() -> None:
    args = ["sweep", "--arch", "i386", "--design", "vmalloc", "--design", "static", "--static-size", "20000",
            "--limit", "address_space=32MiB", "--no-chart", "--no-database"]
    rc, text, err = run_cli(args)
    assert rc == 0, err
    rc, out, err = run_cli([*args, "--format", "json"])
    assert rc == 0, err
    doc = json.loads(out)
    columns = ["bss", "image_extent", "address_space", "percpu_resident", "vmalloc_share", "percpu_unit", "cpu_area"]
    lines = text.splitlines()
    for design, per in doc["series"].items():
        start = next(i for i, line in enumerate(lines) if line.startswith(f"{design}: "))
        rows = lines[start + 2:start + 2 + len(doc["points"])]
        for point, row in zip(doc["points"], rows, strict=True):
            cells = row.split()
            assert int(cells[0]) == point
            for name, cell in zip(columns, cells[1:], strict=True):
                value = per[name][doc["points"].index(point)]
                if name == "vmalloc_share":
                    assert cell == f"{value * 100:.1f}%"
                else:
                    assert int(cell.replace(",", "")) == value
    # 32 MiB / 256 KiB = 128
    assert sorted((f["design"], f["largest_fitting"], f["smallest_failing"]) for f in doc["fits"]) == [
        ("static", 128, 129), ("vmalloc", 128, 129)]


@pytest.mark.realkernel
def test_cli_sweep_sparc64_image_boundary(kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    vmlinux = str(kernel_vmlinux("sparc64-tiny-nr64"))
    rc, out, err = run_cli(["sweep", vmlinux, "--arch", "sparc64", "--design", "static", "--limit", "image_extent=8MiB",
                            "--format", "json", "--no-database"])
    assert rc == 0, err
    doc = json.loads(out)
    # The image is Linux 6.1 (banner) with its own config embedded (IKCONFIG: NR_CPUS=64): the
    # range is 6.1's 2..4096 (arch/sparc/Kconfig:181), not the bundled 2.6.24 model's 2..1024.
    # order 4, 8 KiB pages. Base extent from the image:
    # 1,868,912 + 49 x 131,072 = 8,291,440 fits; + 50 x 131,072 = 8,422,512 does not
    assert (doc["fits"][0]["largest_fitting"], doc["fits"][0]["smallest_failing"]) == (49, 50)
    assert doc["range"] == {"from": 2, "to": 4096}
    # no SPARSEMEM_VMEMMAP in that config: nothing above 256 builds (the page-flags BUILD_BUG_ON;
    # ../shared/kernels/README.md says so of this build)
    assert doc["not_building"] == [{"from": 257, "to": 4096,
                                    "reason": "the sparc64 page-flags BUILD_BUG_ON (arch/sparc/mm/init_64.c) fails"}]
