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


def _synthetic_s390(tmp_path: Path, trailer: bool = True) -> tuple[Path, bytes]:
    """An image in the s390 layout, by hand: IPL PSW, the two IPL CCWs of arch/s390/boot/ipl_data.c
    (CCW0(0x02, 0x018/0x068, 0x50, SLI|CC) = 02000018 60000050, 02000068 60000050), a
    vmlinux_info (BE quads: default_lma, entry, image_size, bss_size), an xz stream of the
    "kernel" and Kbuild's size_append trailer (LE u32)."""
    import lzma
    import random
    import struct

    kernel = random.Random(18).randbytes(300_000)
    head = bytes.fromhex("0008000080000200") + bytes.fromhex("0200001860000050" "0200006860000050")
    head = head.ljust(0x400, b"\x40")
    info = struct.pack(">QQQQ", 0x100000, 0x100000, len(kernel) + 0x100, 0x2000)
    body = head + info + b"\0" * 32 + lzma.compress(kernel, check=lzma.CHECK_CRC32)
    if trailer:
        body += struct.pack("<I", len(kernel))
    path = tmp_path / "s390-image"
    path.write_bytes(body + b"\0" * 64)
    return path, kernel


def test_synthetic_s390_image(tmp_path: Path) -> None:
    path, kernel = _synthetic_s390(tmp_path)
    out = tmp_path / "out"
    rc, stdout, err = run_cli(["extract", "--format", "json", str(path), "-o", str(out)])
    assert rc == 0, err
    assert out.read_bytes() == kernel
    doc = json.loads(stdout)
    assert doc["container"] == "s390-image"
    assert doc["header"] == {"default_lma": 0x100000, "entry": 0x100000, "image_size": len(kernel) + 0x100,
                             "bss_size": 0x2000}


def test_s390_stream_without_size_trailer_is_refused(tmp_path: Path) -> None:
    path, _ = _synthetic_s390(tmp_path, trailer=False)
    rc, _, err = run_cli(["extract", str(path), "-o", str(tmp_path / "out")])
    assert rc == 3 and "size trailer" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def _mips_wrapper(tmp_path: Path, kernel: bytes, with_init_text: bool = False) -> Path:
    """A little-endian ELF32 EXEC for EM_MIPS (8) laid out as arch/mips/boot/compressed/ld.script
    links the decompressor: .text, then .data holding the decompressor's data, the xz'd kernel
    (between __image_begin and __image_end) and Kbuild's size_append trailer."""
    import lzma
    import struct

    payload = b"\x11" * 64 + lzma.compress(kernel, check=lzma.CHECK_CRC32) + struct.pack("<I", len(kernel))
    names = [b"", b".text", b".data", b".shstrtab"] + ([b".init.text"] if with_init_text else [])
    shstr = b"\0".join(names) + b"\0"
    text = b"\0" * 256
    off_text = 0x1000
    off_data = off_text + len(text)
    off_str = off_data + len(payload)
    shoff = (off_str + len(shstr) + 3) & ~3
    name_at = [shstr.index(n + b"\0") if n else 0 for n in names]

    def sh(name: int, typ: int, flags: int, addr: int, off: int, size: int) -> bytes:
        return struct.pack("<IIIIIIIIII", name, typ, flags, addr, off, size, 0, 0, 16, 0)

    secs = [sh(0, 0, 0, 0, 0, 0), sh(name_at[1], 1, 6, 0x810F0000, off_text, len(text)),
            sh(name_at[2], 1, 3, 0x810F0100, off_data, len(payload)), sh(name_at[3], 3, 0, 0, off_str, len(shstr))]
    if with_init_text:
        secs.append(sh(name_at[4], 1, 6, 0x810F0000, off_text, 16))
    ehdr = (b"\x7fELF\x01\x01\x01" + b"\0" * 9
            + struct.pack("<HHIIIIIHHHHHH", 2, 8, 1, 0x810F0000, 0, shoff, 0, 52, 32, 0, 40, len(secs), 3))
    blob = bytearray(ehdr.ljust(off_text, b"\0") + text + payload + shstr)
    blob += b"\0" * (shoff - len(blob)) + b"".join(secs)
    path = tmp_path / "vmlinuz-mips"
    path.write_bytes(bytes(blob))
    return path


def test_synthetic_mips_wrapper(tmp_path: Path) -> None:
    import random

    kernel = random.Random(3).randbytes(200_000)
    path = _mips_wrapper(tmp_path, kernel)
    out = tmp_path / "out"
    rc, stdout, err = run_cli(["extract", "--format", "json", str(path), "-o", str(out)])
    assert rc == 0, err
    assert out.read_bytes() == kernel and json.loads(stdout)["container"] == "mips-zboot"
    rc, stdout, err = run_cli(["inspect", "--format", "json", str(path)])
    assert rc == 0, err
    (img,) = json.loads(stdout)["images"]
    assert img["container"]["decompressed_size_bytes"] == len(kernel)
    assert any("wrapper" in n for n in img["notes"])


def test_mips_elf_with_init_text_is_a_kernel_not_a_wrapper(tmp_path: Path) -> None:
    path = _mips_wrapper(tmp_path, b"k" * 5000, with_init_text=True)
    rc, _, err = run_cli(["extract", str(path), "-o", str(tmp_path / "out")])
    assert rc == 3 and "already an ELF" in err
