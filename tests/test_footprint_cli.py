"""`cpualloc footprint` end to end: text and JSON agree number for number; real images."""

from __future__ import annotations

import json
import lzma
import re

import pytest
from conftest import need_shared, run_cli

from cpualloc_cli.model.measures import Measure

MiB = 1 << 20
# the text table's columns, in order (render/footprint_text.py COLUMNS)
TEXT_COLUMNS = (Measure.BSS, Measure.IMAGE_EXTENT, Measure.ADDRESS_SPACE, Measure.PERCPU_RESIDENT,
                Measure.VMALLOC_SHARE, Measure.PERCPU_UNIT, Measure.CPU_AREA)
ROW = re.compile(r"^[* ] (static|virtual|vmalloc|percpu)\s+(.*)$")


def _text_rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            rows[m.group(1)] = m.group(2).split()
    return rows


def _check_text_equals_json(args: list[str]) -> dict:  # type: ignore[type-arg]
    rc_t, text, err_t = run_cli([*args, "--format", "text"])
    rc_j, out, err_j = run_cli([*args, "--format", "json"])
    assert rc_t == rc_j, (err_t, err_j)
    doc = json.loads(out)
    rows = _text_rows(text)
    assert set(rows) == {d["design"] for d in doc["designs"]}
    for d in doc["designs"]:
        cells = rows[d["design"]]
        assert len(cells) == len(TEXT_COLUMNS), cells
        for measure, cell in zip(TEXT_COLUMNS, cells, strict=True):
            value = d["measures"].get(measure.value)
            if value is None:
                assert cell == "-"
            elif measure is Measure.VMALLOC_SHARE:
                assert cell == f"{value * 100:.1f}%", (d["design"], measure)
            else:
                assert isinstance(value, int)
                assert int(cell.replace(",", "")) == value, (d["design"], measure)
        if d["percpu"] is not None:
            assert d["percpu"]["kernel_line"] in text
    used = doc["design_used"]["design"]
    assert f"* {used}" in text
    assert f"design used: {used}" in text
    return doc  # type: ignore[no-any-return]


def test_text_and_json_agree_config_only() -> None:
    doc = _check_text_equals_json(["footprint", "--arch", "i386", "--set", "NR_CPUS=255", "--set", "X86_BIGSMP=y",
                                   "--static-size", "20000", "--possible-cpus", "9"])
    by = {d["design"]: d for d in doc["designs"]}
    # i386 order 6 (256 KiB per CPU): 255 x 262,144 = 66,846,720
    assert by["vmalloc"]["measures"]["address_space"] == 66_846_720
    assert by["vmalloc"]["measures"]["vmalloc_share"] == pytest.approx(66_846_720 / (128 * MiB))
    assert doc["possible_cpus"] == 9


def test_explain_prints_formulas_with_values() -> None:
    rc, text, err = run_cli(["footprint", "--arch", "sparc64", "--set", "NR_CPUS=64", "--set", "PAGE_SHIFT=13",
                             "--set", "CPU_AREA_ORDER=4", "--design", "static", "--explain"])
    assert rc == 0, err
    assert "cpu area = NR_CPUS x (PAGE_SIZE << CPU_AREA_ORDER) = 64 x (8192 << 4) = 64 x 131,072 = 8,388,608 B" in text
    assert "design used: static" in text and "--design on the command line" in text


def test_limit_exceeded_exits_1_and_json_is_clean() -> None:
    args = ["footprint", "--arch", "sparc64", "--set", "NR_CPUS=64", "--set", "PAGE_SHIFT=13", "--set", "CPU_AREA_ORDER=4",
            "--design", "static", "--limit", "cpu_area=8MiB"]
    rc, _, err = run_cli(args)
    assert rc == 0, err  # 8,388,608 <= 8,388,608
    rc, out, err = run_cli([*args[:-1], "cpu_area=8191KiB", "--format", "json"])
    assert rc == 1, err
    doc = json.loads(out)
    assert [f["rule"] for f in doc["designs"][0]["findings"]] == ["limit.cpu_area"]


def test_usage_and_input_errors() -> None:
    rc, _, err = run_cli(["footprint"])
    assert rc == 2 and "nothing to compute" in err
    rc, _, err = run_cli(["footprint", "--arch", "i386", "--percpu-reserve", "8MB"])
    assert rc == 2 and "--percpu-reserve" in err
    rc, _, err = run_cli(["footprint", "/nonexistent/vmlinux"])
    assert rc == 3 and err.startswith("cpualloc: error: /nonexistent/vmlinux")
    rc, _, err = run_cli(["footprint", "--arch", "i386", "--simulate-packing"])
    assert rc == 2 and "needs an image" in err


def test_out_of_range_nr_cpus_is_reported() -> None:
    rc, out, err = run_cli(["footprint", "--arch", "i386", "--set", "NR_CPUS=256", "--design", "vmalloc",
                            "--format", "json"])
    assert rc == 0, err
    doc = json.loads(out)
    # 2.6.24 i386: range 2..255, default 8 (the bundled model); 8 x 262,144 = 2,097,152
    assert doc["nr_cpus"] == 8
    assert doc["designs"][0]["measures"]["address_space"] == 2_097_152
    assert any("NR_CPUS" in f["message"] and "256" in f["message"] for f in doc["findings"])


@pytest.mark.realkernel
def test_sparc64_image_static_design(kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    need_shared()
    vmlinux = str(kernel_vmlinux("sparc64-tiny-nr64"))
    doc = _check_text_equals_json(["footprint", vmlinux, "--arch", "sparc64", "--set", "CPU_AREA_ORDER=4",
                                   "--set", "NR_CPUS=64", "--set", "PAGE_SHIFT=13"])
    by = {d["design"]: d["measures"] for d in doc["designs"]}
    # size.txt: bss 74864; readelf -s: _end 0x5c8470 - KERNBASE 0x400000 = 1,868,912; readelf -S: .data..percpu 0x4158
    assert by["static"]["bss"] == 74_864 + 8_388_608
    assert by["static"]["image_extent"] == 1_868_912 + 8_388_608
    assert by["virtual"]["bss"] == 74_864 + 44
    assert by["percpu"]["percpu_static"] == 0x4158
    rc, _, _ = run_cli(["footprint", vmlinux, "--arch", "sparc64", "--design", "static", "--set", "NR_CPUS=64",
                        "--set", "CPU_AREA_ORDER=4", "--limit", "image_extent=8MiB"])
    assert rc == 1


@pytest.mark.realkernel
def test_sparc64_packing_covers_every_percpu_symbol(kernel_vmlinux, shared_kernels) -> None:  # type: ignore[no-untyped-def]
    vmlinux = str(kernel_vmlinux("sparc64-tiny-nr64"))
    # oracle: readelf -s -W, symbols in section 24 (.data..percpu) with a non-zero size, distinct (value, size)
    text = lzma.decompress((shared_kernels / "sparc64-tiny-nr64" / "readelf-s.txt.xz").read_bytes()).decode()
    objs = set()
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 8 and f[6] == "24" and f[2].isdigit() and int(f[2]) > 0:
            objs.add((int(f[1], 16), int(f[2])))
    assert objs
    rc, out, err = run_cli(["footprint", vmlinux, "--arch", "sparc64", "--simulate-packing", "--format", "json"])
    assert rc == 0, err
    p = json.loads(out)["packing"]
    assert p["objects"] == len(objs)
    assert p["linker_bytes"] == 0x4158
    assert p["units_allocated"] == sum(-(-size // 4) for _, size in objs)
    assert p["units_used"] >= p["units_allocated"]
