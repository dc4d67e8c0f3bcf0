"""Issue 18 items 2 and 3: Debian's s390x vmlinuz and MIPS (mipsel 4kc-malta) vmlinuz.

The images come from Debian's packages through tests/fixtures/debian/fetch.sh DIR; the tests run
with CPUALLOC_DEBIAN_IMAGES=DIR and skip cleanly without it. Oracles, from the matching -dbg
package (recorded by fetch.sh with GNU binutils): `objcopy -O binary vmlinux` (vmlinux.bin), which
the image must extract to byte for byte, and `nm vmlinux` (vmlinux.nm) for the header facts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run_cli


def _arch_dir(arch: str) -> Path:
    root = os.environ.get("CPUALLOC_DEBIAN_IMAGES")
    if not root:
        if os.environ.get("CPUALLOC_REQUIRE_REAL"):
            pytest.fail("CPUALLOC_REQUIRE_REAL is set but CPUALLOC_DEBIAN_IMAGES is not")
        pytest.skip("CPUALLOC_DEBIAN_IMAGES is not set (tests/fixtures/debian/fetch.sh DIR)")
    d = Path(root) / arch
    for name in ("vmlinuz", "vmlinux.bin", "vmlinux.nm"):
        if not (d / name).is_file():
            pytest.fail(f"{d / name} is missing: rerun tests/fixtures/debian/fetch.sh")
    return d


def _nm(d: Path) -> dict[str, int]:
    out = {}
    for line in (d / "vmlinux.nm").read_text().splitlines():
        value, _, name = line.split()
        out[name] = int(value, 16)
    return out


@pytest.mark.parametrize("arch", ["s390x", "mipsel"])
def test_extract_is_objcopy_binary_of_the_debug_vmlinux(tmp_path: Path, arch: str) -> None:
    d = _arch_dir(arch)
    out = tmp_path / "vmlinux.bin"
    rc, stdout, err = run_cli(["extract", "--format", "json", str(d / "vmlinuz"), "-o", str(out)])
    assert rc == 0, err
    assert out.read_bytes() == (d / "vmlinux.bin").read_bytes()
    doc = json.loads(stdout)
    assert doc["container"] == {"s390x": "s390-image", "mipsel": "mips-zboot"}[arch]
    assert doc["codec"] == "xz"  # Debian builds both with CONFIG_KERNEL_XZ
    assert doc["decompressed_size_bytes"] == (d / "vmlinux.bin").stat().st_size
    assert doc["size_trailer_bytes"] == doc["decompressed_size_bytes"]


def test_s390x_inspect_reports_the_kernels_sizes() -> None:
    d = _arch_dir("s390x")
    rc, stdout, err = run_cli(["inspect", "--format", "json", str(d / "vmlinuz")])
    assert rc == 0, err
    (img,) = json.loads(stdout)["images"]
    c = img["container"]
    nm = _nm(d)
    # arch/s390/kernel/vmlinux.lds.S .vmlinux.info: QUAD(_stext), QUAD(startup_continue),
    # QUAD(__bss_start - _stext), QUAD(__bss_stop - __bss_start)
    assert c["default_lma"] == nm["_stext"]
    assert c["entry"] == nm["startup_continue"]
    assert c["image_size"] == nm["__bss_start"] - nm["_stext"]
    assert c["bss_size"] == nm["__bss_stop"] - nm["__bss_start"]
    assert c["decompressed_size_bytes"] == (d / "vmlinux.bin").stat().st_size
    # the figure: the xz stream starts at 190,488 in Debian's 6.1.0 s390x image
    if (d / "version").read_text().startswith("6.1."):
        assert c["stream_offset"] == 190488


def test_mips_wrapper_inspect_reports_the_kernel_with_a_note() -> None:
    d = _arch_dir("mipsel")
    rc, stdout, err = run_cli(["inspect", "--format", "json", str(d / "vmlinuz")])
    assert rc == 0, err
    (img,) = json.loads(stdout)["images"]
    assert img["source"] == "mips-zboot payload (xz)"
    assert any("wrapper" in n and "arch/mips/boot/compressed" in n for n in img["notes"])
    # the kernel's bytes (objcopy -O binary of the vmlinux), not the wrapper's sections
    assert img["container"]["decompressed_size_bytes"] == (d / "vmlinux.bin").stat().st_size
    assert "sections" not in img
    rc, text, err = run_cli(["inspect", str(d / "vmlinuz")])
    assert rc == 0 and "wrapper" in text, err
