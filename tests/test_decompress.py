"""The decompression adapter and IKCONFIG: every codec, every container, corrupt input, bombs.

Oracles: the fixtures in tests/fixtures/compressed were made by the real tools with Kbuild's own
command lines (make_fixtures.py); the original bytes they must decode to are `payload.elf`.
Header values of the real x86_64 bzImage were read by hand with `xxd -s 0x1f0 -l 0x80 bzImage`
and are written below with their offsets. Expected offsets of the synthetic containers are hand
arithmetic from the layouts make_fixtures.py writes.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import shutil
import struct
import subprocess
import tracemalloc
from pathlib import Path

import pytest
from conftest import FIXTURES, need_shared
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpualloc_cli.adapters.decompress import DEFAULT_CAP_BYTES, read_image_payload
from cpualloc_cli.adapters.ikconfig import NOT_SET, read_ikconfig
from cpualloc_cli.errors import (
    CompressedImageError,
    DecompressionLimitError,
    InputError,
)

HERE = FIXTURES / "compressed"
ELF = (HERE / "payload.elf").read_bytes()
EXT = {"gzip": "gz", "bzip2": "bz2", "lzma": "lzma", "lzo": "lzo", "lz4": "lz4", "xz": "xz", "zstd": "zst"}
STUB_LEN = 2048  # make_fixtures.py: stub(1, 2048) before each vmlinuz stream


def test_fixture_elf_is_an_elf() -> None:
    assert ELF[:4] == b"\x7fELF" and len(ELF) > 4096


@pytest.mark.parametrize("codec", sorted(EXT))
def test_raw_compressed_round_trip(codec: str) -> None:
    path = HERE / f"payload.elf.{EXT[codec]}"
    p = read_image_payload(str(path))
    assert p.kind == "raw-compressed"
    assert p.codec == codec
    assert p.data == ELF
    assert p.payload_is_elf
    assert p.stream_offset == 0
    assert p.size_trailer_bytes is None  # Kbuild's plain cmd_* append nothing
    assert p.compressed_size_bytes == path.stat().st_size  # the stream is the whole file


@pytest.mark.parametrize("codec", sorted(EXT))
def test_vmlinuz_round_trip(codec: str) -> None:
    """Stub (with decoy magics) + stream + size_append trailer, found by scanning."""
    path = HERE / f"vmlinuz-{codec}"
    p = read_image_payload(str(path))
    assert p.kind == "vmlinuz"
    assert p.codec == codec
    assert p.data == ELF
    assert p.stream_offset == STUB_LEN
    if codec == "gzip":  # cmd_gzip appends nothing: ISIZE is in the gzip trailer itself
        assert p.size_trailer_bytes is None
        assert p.compressed_size_bytes == path.stat().st_size - STUB_LEN
    else:
        assert p.size_trailer_bytes == len(ELF)
        assert p.compressed_size_bytes == path.stat().st_size - STUB_LEN  # stream + 4-byte trailer


def test_fixture_streams_decode_with_the_real_tools() -> None:
    """The fixtures are what the real tools make: the tools themselves decode them to payload.elf."""
    tools = {"gzip": ["gzip", "-dc"], "bzip2": ["bzip2", "-dc"], "xz": ["xz", "-dc"], "lzma": ["xz", "--format=lzma", "-dc"],
             "lzo": ["lzop", "-dc"], "lz4": ["lz4", "-dc"], "zstd": ["zstd", "-dcq"]}
    checked = 0
    for codec, cmd in tools.items():
        if shutil.which(cmd[0]) is None:
            continue
        data = (HERE / f"payload.elf.{EXT[codec]}").read_bytes()
        out = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, check=True).stdout
        assert out == ELF, codec
        checked += 1
    if checked == 0:
        pytest.skip("no compression tools installed")


def test_bzimage_fixture_header() -> None:
    p = read_image_payload(str(HERE / "bzImage-xz"))
    assert p.kind == "bzImage" and p.codec == "xz" and p.data == ELF and p.payload_is_elf
    # make_fixtures.bzimage(): setup_sects=3, payload_offset=0x100 -> (3+1)*512 + 0x100 = 2304
    assert p.stream_offset == 2304
    assert p.header_value("setup_sects") == 3
    assert p.header_value("boot_protocol") == "2.15"
    assert p.header_value("payload_offset") == 0x100
    assert p.header_value("init_size") == len(ELF) + 0x10000
    assert p.header_value("pref_address") == 0x1000000
    assert p.header_value("kernel_alignment") == 0x200000
    assert p.size_trailer_bytes == len(ELF)
    xz_len = (HERE / "payload.elf.xz").stat().st_size
    assert p.header_value("payload_length") == xz_len + 4 == p.compressed_size_bytes
    g = read_image_payload(str(HERE / "bzImage-gzip"))
    assert g.codec == "gzip" and g.data == ELF
    assert g.size_trailer_bytes == len(ELF)  # gzip's ISIZE is the payload's last 4 bytes


def test_arm64_image_header() -> None:
    p = read_image_payload(str(HERE / "Image"))
    assert p.kind == "arm64-image" and p.codec is None and not p.payload_is_elf
    assert p.data == (HERE / "Image").read_bytes()
    # make_fixtures.arm64_image(elf * 3, bss=0x20000): image_size = 64 + 3*len(elf) + 0x20000
    assert p.header_value("image_size") == 64 + 3 * len(ELF) + 0x20000
    assert p.header_value("text_offset") == 0
    assert p.header_value("flags") == 0xA
    assert p.header_value("kernel_endianness") == "little"  # flags bit 0 clear
    assert p.header_value("page_size") == "4K"              # flags bits 1-2 = 01
    assert any("raw binary" in n and "vmlinux" in n for n in p.notes)


@pytest.mark.parametrize("name,codec", [("Image.gz", "gzip"), ("Image.zst", "zstd")])
def test_arm64_compressed_image(name: str, codec: str) -> None:
    p = read_image_payload(str(HERE / name))
    assert p.kind == "arm64-image" and p.codec == codec
    assert p.data == (HERE / "Image").read_bytes()
    assert p.header_value("image_size") == 64 + 3 * len(ELF) + 0x20000
    assert p.size_trailer_bytes is None  # arch/arm64/boot/Makefile uses the plain cmd_*


def test_arm_zimage() -> None:
    path = HERE / "zImage"
    p = read_image_payload(str(path))
    assert p.kind == "arm-zimage" and p.codec == "gzip" and not p.payload_is_elf
    assert p.data == (HERE / "arm-Image").read_bytes()
    assert p.header_value("zimage_start") == 0
    assert p.header_value("zimage_end") == path.stat().st_size
    assert p.header_value("kernel_endianness") == "little"
    # header is 0x24 + 4 words = 0x34 bytes, then a 0x200-byte stub: 0x34 + 0x200 = 564
    assert p.stream_offset == 564


def test_plain_elf_is_not_read() -> None:
    p = read_image_payload(str(HERE / "payload.elf"))
    assert p.kind == "elf" and p.data is None and p.payload_is_elf
    assert p.file_size_bytes == len(ELF)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("name,error,words", [
    ("bad-vmlinuz-xz-truncated", CompressedImageError, "truncated"),
    ("bad-vmlinuz-gzip-flipped", CompressedImageError, "corrupt gzip payload at offset 2048"),
    ("bad-vmlinuz-zstd-trailer-lies", CompressedImageError, f"size trailer says {len(ELF) + 1} bytes"),
    ("bad-bzImage-xz-trailer-lies", DecompressionLimitError, f"more than the {len(ELF) - 100} bytes its size trailer"),
    ("bad-bzImage-length-past-eof", CompressedImageError, "outside the file"),
])
def test_corrupt_fixtures(name: str, error: type[Exception], words: str) -> None:
    with pytest.raises(error) as info:
        read_image_payload(str(HERE / name))
    assert words in str(info.value)
    assert isinstance(info.value, InputError)  # exit 3


def test_bzimage_trailer_larger_than_payload(tmp_path: Path) -> None:
    buf = bytearray((HERE / "bzImage-xz").read_bytes())
    start = 2304
    (length,) = struct.unpack_from("<I", buf, 0x24C)
    struct.pack_into("<I", buf, start + length - 4, len(ELF) + 100)
    path = tmp_path / "bz"
    path.write_bytes(bytes(buf))
    with pytest.raises(CompressedImageError, match=f"size trailer says {len(ELF) + 100} bytes"):
        read_image_payload(str(path))


def test_bomb_stops_at_the_cap_with_little_memory() -> None:
    """~1.5 KB of bzip2 that would decode to 1.25 GiB and claims 4 GiB - 1 in its trailer."""
    path = HERE / "bomb-vmlinuz.bz2"
    assert path.stat().st_size < 2048
    cap = 16 << 20
    tracemalloc.start()
    try:
        with pytest.raises(DecompressionLimitError, match=f"more than the {cap}-byte cap"):
            read_image_payload(str(path), cap_bytes=cap)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * cap


def test_bomb_stops_at_the_ratio_bound_by_default() -> None:
    """Without an explicit cap, 1000:1 past 64 MiB is a bomb (the real x86_64 bzImage is 21:1)."""
    path = HERE / "bomb-vmlinuz.bz2"
    stream_and_trailer = path.stat().st_size - 512  # make_fixtures: stub(1, 512) + stream + trailer
    with pytest.raises(DecompressionLimitError) as info:
        read_image_payload(str(path))
    assert f"more than {64 << 20} bytes from {stream_and_trailer} compressed bytes" in str(info.value)
    assert "--max-size" in info.value.one_line()


def test_bzimage_bomb_refused_before_decoding_at_the_default_cap() -> None:
    with pytest.raises(DecompressionLimitError, match=f"claims 4294967295 bytes, above the {DEFAULT_CAP_BYTES}-byte cap"):
        read_image_payload(str(HERE / "bzImage-bomb"))


def test_input_larger_than_cap_is_refused() -> None:
    with pytest.raises(DecompressionLimitError, match="larger than the 1000-byte cap"):
        read_image_payload(str(HERE / "vmlinuz-xz"), cap_bytes=1000)


def test_lzo_missing_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "lzo", None)  # `import lzo` now raises ImportError
    monkeypatch.setitem(sys.modules, "lzokay", None)  # and so does the core dependency's
    with pytest.raises(CompressedImageError) as info:
        read_image_payload(str(HERE / "payload.elf.lzo"))
    assert "pip install lzokay" in info.value.one_line()


@pytest.mark.parametrize("content,words", [
    (b"", "empty file"),
    (b"hello, this is not a kernel\n" * 10, "not a kernel image"),
    (b"\x1f\x8b\x08\x00" + b"\x00" * 60, "corrupt gzip payload at offset 0"),
])
def test_not_a_kernel(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "f"
    path.write_bytes(content)
    with pytest.raises(InputError, match=words):
        read_image_payload(str(path))


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_image_payload(str(tmp_path / "nope"))
    with pytest.raises(InputError, match="is a directory"):
        read_image_payload(str(tmp_path))


@pytest.mark.parametrize("codec", sorted(EXT))
def test_truncations_and_flips_end_in_input_errors(codec: str, tmp_path: Path) -> None:
    """A small structured fuzz: cut and corrupt each stream at many points; every outcome is a
    payload or an InputError (exit 3), never another exception."""
    good = (HERE / f"vmlinuz-{codec}").read_bytes()
    stream_len = len(good) - STUB_LEN
    path = tmp_path / "f"
    for i in range(1, 25):
        cut = STUB_LEN + stream_len * i // 25
        variants = [good[:cut]]
        flipped = bytearray(good)
        flipped[cut] ^= 0x55
        variants.append(bytes(flipped))
        for data in variants:
            path.write_bytes(data)
            try:
                p = read_image_payload(str(path), cap_bytes=1 << 24)
            except InputError:
                continue
            assert p.data is not None


# --------------------------------------------------------------------------- property round trips


def _lz4_legacy(data: bytes) -> bytes:
    import lz4.block

    out = bytearray(struct.pack("<I", 0x184C2102))
    for i in range(0, len(data), 8 << 20):
        block = lz4.block.compress(data[i:i + (8 << 20)], store_size=False)
        out += struct.pack("<I", len(block)) + block
    return bytes(out)


def _compress(codec: str, data: bytes) -> bytes:
    import zstandard

    if codec == "gzip":
        return gzip.compress(data, mtime=0)
    if codec == "bzip2":
        return bz2.compress(data)
    if codec == "xz":
        return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)
    if codec == "lzma":
        # `lzma -9` as cmd_lzma: a 64 MiB dictionary, so the header is 5d 00 00 00 04, which is the
        # magic extract-vmlinux (and the scan) looks for; smaller presets do not start with it.
        return lzma.compress(data, format=lzma.FORMAT_ALONE, preset=9)
    if codec == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(data)
    if codec == "lz4":
        return _lz4_legacy(data)
    raise AssertionError(codec)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(codec=st.sampled_from(["gzip", "bzip2", "xz", "lzma", "zstd", "lz4"]),
       body=st.binary(min_size=0, max_size=3000), reps=st.integers(1, 40),
       stub=st.binary(min_size=0, max_size=300))
def test_any_elf_payload_round_trips(tmp_path: Path, codec: str, body: bytes, reps: int, stub: bytes) -> None:
    payload = b"\x7fELF" + body * reps
    stream = _compress(codec, payload)
    path = tmp_path / "vmlinuz"
    path.write_bytes(stub.replace(b"\x7fELF", b"\x7fELG") + stream + struct.pack("<I", len(payload)))
    p = read_image_payload(str(path))
    assert p.data == payload
    assert p.size_trailer_bytes == len(payload)


# --------------------------------------------------------------------------- IKCONFIG


CONFIG = (HERE / "config").read_text()


def test_ikconfig_in_an_object_like_configs_ko() -> None:
    assert read_ikconfig(str(HERE / "configs-ko.o")) == CONFIG


def test_ikconfig_from_proc_config_gz() -> None:
    assert read_ikconfig(str(HERE / "config.gz")) == CONFIG


def test_ikconfig_inside_a_compressed_image(tmp_path: Path) -> None:
    payload = b"\x7fELF" + os.urandom(3000) + b"IKCFG_ST" + gzip.compress(CONFIG.encode(), mtime=0) + b"IKCFG_ED" + b"\0" * 64
    path = tmp_path / "vmlinuz"
    path.write_bytes(b"stub" * 100 + lzma.compress(payload, check=lzma.CHECK_CRC32) + struct.pack("<I", len(payload)))
    assert read_ikconfig(str(path)) == CONFIG


@pytest.mark.parametrize("name", ["payload.elf", "vmlinuz-xz", "Image.gz", "bzImage-xz"])
def test_no_ikconfig(name: str) -> None:
    with pytest.raises(InputError) as info:
        read_ikconfig(str(HERE / name))
    assert info.value.message == NOT_SET == "no embedded config (CONFIG_IKCONFIG not set)"


def test_ikconfig_corrupt_block(tmp_path: Path) -> None:
    gz = bytearray(gzip.compress(CONFIG.encode(), mtime=0))
    gz[-6] ^= 0xFF  # the CRC32 in the gzip trailer
    path = tmp_path / "vmlinux"
    path.write_bytes(b"\x7fELF" + b"\0" * 100 + b"IKCFG_ST" + bytes(gz) + b"IKCFG_ED")
    with pytest.raises(CompressedImageError, match="corrupt gzip"):
        read_ikconfig(str(path))


# --------------------------------------------------------------------------- real kernels


@pytest.mark.realkernel
@pytest.mark.parametrize("name", ["sparc64-tiny-nr64", "sparc64-tiny-nr256"])
def test_real_sparc64_ikconfig(name: str, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    kernels = need_shared()
    expected = (kernels / name / "config").read_text()
    assert "CONFIG_IKCONFIG=y" in expected.splitlines()
    assert read_ikconfig(str(kernel_vmlinux(name))) == expected
    # and straight from the xz file (decompressed by the adapter, within the cap)
    assert read_ikconfig(str(kernels / name / "vmlinux.xz")) == expected


@pytest.mark.realkernel
def test_real_x86_bzimage_has_no_ikconfig() -> None:
    kernels = need_shared()
    assert "# CONFIG_IKCONFIG is not set" in (kernels / "x86_64-tiny" / "config").read_text().splitlines()
    with pytest.raises(InputError, match=r"CONFIG_IKCONFIG not set"):
        read_ikconfig(str(kernels / "x86_64-tiny" / "bzImage"))


def _section_rows(readelf_s: str) -> list[list[str]]:
    """Rows of `readelf -S -W`: [nr, name, type, addr, off, size, es, flg?, lk, inf, al]."""
    rows = []
    for line in readelf_s.splitlines():
        line = line.strip()
        if line.startswith("[") and not line.startswith("[Nr]"):
            nr, rest = line[1:].split("]", 1)
            rows.append([nr.strip(), *rest.split()])
    return rows


def _struct_sections(elf: bytes) -> list[tuple[str, int, int, int, int, int]]:
    """(name, type, addr, offset, size, align) from ELF64 LE section headers, parsed by hand."""
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    headers = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    stroff = headers[shstrndx][4]
    out = []
    for h in headers:
        name_end = elf.index(b"\0", stroff + h[0])
        out.append((elf[stroff + h[0]:name_end].decode(), h[1], h[3], h[4], h[5], h[8]))
    return out


@pytest.mark.realkernel
def test_real_x86_64_bzimage(tmp_path: Path, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    kernels = need_shared()
    path = kernels / "x86_64-tiny" / "bzImage"
    p = read_image_payload(str(path))
    assert p.kind == "bzImage" and p.codec == "xz" and p.payload_is_elf
    # Read by hand: xxd -s 0x1f0 -l 0x80 bzImage
    assert p.header_value("setup_sects") == 0x1F            # 0x1f1: 1f
    assert p.header_value("boot_protocol") == "2.15"        # 0x206: 0f 02
    assert p.header_value("payload_offset") == 0x2A3        # 0x248: a3 02 00 00
    assert p.header_value("payload_length") == 0x822A0      # 0x24c: a0 22 08 00
    assert p.header_value("kernel_alignment") == 0x200000   # 0x230: 00 00 20 00
    assert p.header_value("pref_address") == 0x1000000      # 0x258: 00 00 00 01 00 00 00 00
    assert p.header_value("init_size") == 0xB1C000          # 0x260: 00 c0 b1 00
    assert p.header_value("xloadflags") == 0x21             # 0x236: 21 00
    assert p.stream_offset == (0x1F + 1) * 512 + 0x2A3 == 17059
    # The payload's last 4 bytes (file offset 17059 + 0x822a0 - 4), read with python struct:
    # 58 27 ab 00 -> 0x00ab2758 = 11216728, the size of vmlinux.bin.
    assert p.size_trailer_bytes == 0xAB2758
    assert p.data is not None and len(p.data) == 0xAB2758

    # Section headers equal the recorded `readelf -S -W` of the vmlinux for every section that
    # objcopy -R .comment -S keeps ([1]..[21]); .comment/.symtab/.strtab are gone.
    recorded = _section_rows((kernels / "x86_64-tiny" / "readelf-S.txt").read_text())
    mine = _struct_sections(p.data)
    assert len(recorded) == 26 and len(mine) == 23
    assert [s[0] for s in mine[22:]] == [".shstrtab"]
    assert [r[1] for r in recorded[22:25]] == [".comment", ".symtab", ".strtab"]
    for row, sec in zip(recorded[1:22], mine[1:22], strict=True):
        assert row[1] == sec[0]
        assert int(row[3], 16) == sec[2]   # address
        assert int(row[4], 16) == sec[3]   # offset
        assert int(row[5], 16) == sec[4]   # size
        assert int(row[-1]) == sec[5]      # alignment

    out = tmp_path / "vmlinux.bin"
    out.write_bytes(p.data)
    if shutil.which("readelf"):
        theirs = _section_rows(subprocess.run(["readelf", "-S", "-W", str(out)], capture_output=True, text=True,
                                              check=True).stdout)
        assert theirs[:22] == recorded[:22]
    if shutil.which("objcopy"):
        # arch/x86/boot/compressed/Makefile: vmlinux.bin is `objcopy -R .comment -S vmlinux`
        ref = tmp_path / "vmlinux.objcopy"
        subprocess.run(["objcopy", "-R", ".comment", "-S", str(kernel_vmlinux("x86_64-tiny")), str(ref)], check=True)
        assert ref.read_bytes() == p.data


def test_old_boot_protocol_without_payload_offset_is_scanned(tmp_path: Path) -> None:
    """Boot protocol < 2.08 has no payload_offset: the protected-mode part is scanned."""
    buf = bytearray((HERE / "bzImage-xz").read_bytes())
    struct.pack_into("<H", buf, 0x206, 0x0207)
    path = tmp_path / "bzImage-2.07"
    path.write_bytes(bytes(buf))
    p = read_image_payload(str(path))
    assert p.kind == "bzImage" and p.codec == "xz" and p.data == ELF
    assert p.stream_offset == (3 + 1) * 512 + 0x100  # same stream, found by scanning
    assert p.header_value("boot_protocol") == "2.07"
    assert p.header_value("payload_offset") is None  # not in a 2.07 header


def test_big_endian_zimage_header(tmp_path: Path) -> None:
    """A BE8 kernel stores the head.S words big-endian."""
    buf = bytearray((HERE / "zImage").read_bytes())
    end = len(buf)
    struct.pack_into(">IIII", buf, 0x24, 0x016F2818, 0x1000, 0x1000 + end, 0x04030201)
    path = tmp_path / "zImage-be"
    path.write_bytes(bytes(buf))
    p = read_image_payload(str(path))
    assert p.kind == "arm-zimage"
    assert p.header_value("kernel_endianness") == "big"
    assert p.header_value("zimage_start") == 0x1000
    assert p.header_value("zimage_size") == end
    assert p.data == (HERE / "arm-Image").read_bytes()


def test_compressed_arm64_image_behind_a_stub(tmp_path: Path) -> None:
    """Like an EFI zboot vmlinuz: some PE stub, then Image.gz; found by scanning."""
    path = tmp_path / "vmlinuz.efi"
    path.write_bytes(b"MZ\0\0zimg" + bytes(1000) + (HERE / "Image.gz").read_bytes())
    p = read_image_payload(str(path))
    assert p.kind == "arm64-image" and p.codec == "gzip" and not p.payload_is_elf
    assert p.stream_offset == 8 + 1000
    assert p.data == (HERE / "Image").read_bytes()
    assert p.header_value("image_size") == 64 + 3 * len(ELF) + 0x20000
