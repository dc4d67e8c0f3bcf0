"""`footprint`/`sweep --scale-from IMAGE@N ...` (issue 6 item 3): the base BSS and image extent
at each NR_CPUS come from a scale model of real images, not from one fixed image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import KERNELS, run_cli


def _size_bss(name: str) -> int:
    return int((KERNELS / name / "size.txt").read_text().splitlines()[1].split()[2])


def _load_memsz(name: str) -> int:
    """_end - KERNBASE of a sparc64 vmlinux: its one PT_LOAD starts at KERNBASE 0x400000 and
    ends at _end (MemSiz, readelf -l)."""
    for line in (KERNELS / name / "readelf-l.txt").read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "LOAD":
            assert int(parts[2], 16) == 0x400000
            return int(parts[5], 16)
    raise AssertionError("no PT_LOAD")


@pytest.fixture()
def pair(kernel_vmlinux) -> list[str]:  # type: ignore[no-untyped-def]
    return ["--scale-from", f"{kernel_vmlinux('sparc64-tiny-nr64')}@64",
            "--scale-from", f"{kernel_vmlinux('sparc64-tiny-nr256')}@256"]


@pytest.mark.realkernel
@pytest.mark.parametrize(("n", "name"), [(64, "sparc64-tiny-nr64"), (256, "sparc64-tiny-nr256")])
def test_footprint_base_at_a_measured_value_is_that_build(n: int, name: str, pair: list[str]) -> None:
    """At a value that was built, the model gives that build's own figures (GNU size's bss and
    readelf -l's MemSiz); the modern percpu design adds nothing to the image."""
    rc, out, err = run_cli(["footprint", "--arch", "sparc64", "--set", f"NR_CPUS={n}", "--design", "percpu", *pair,
                            "--format", "json"])
    assert rc == 0, err
    m = json.loads(out)["designs"][0]["measures"]
    assert m["bss"] == _size_bss(name)
    assert m["image_extent"] == _load_memsz(name)


@pytest.mark.realkernel
def test_sweep_static_adds_the_cpu_area_to_the_scaled_base(pair: list[str]) -> None:
    """static design: BSS(N) = scaled base BSS(N) + N x (8 KiB << 4); at N = 256 the base is the
    nr256 build's bss, so BSS = bss(nr256) + 256 x 131,072."""
    rc, out, err = run_cli(["sweep", "--arch", "sparc64", "--design", "static", *pair, "--values", "64,256",
                            "--no-chart", "--no-database", "--format", "json"])
    assert rc == 0, err
    doc = json.loads(out)
    bss = dict(zip(doc["points"], doc["series"]["static"]["bss"], strict=True))
    assert bss[256] == _size_bss("sparc64-tiny-nr256") + 256 * 131_072
    assert bss[64] == _size_bss("sparc64-tiny-nr64") + 64 * 131_072


def test_scale_from_needs_two_images(tmp_path: Path) -> None:
    rc, _, err = run_cli(["footprint", "--arch", "sparc64", "--scale-from", f"{tmp_path}@64"])
    assert rc == 2 and "at least two" in err
