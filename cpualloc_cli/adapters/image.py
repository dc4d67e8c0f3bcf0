"""One entry point for every kernel image a user has: ELF files (vmlinux, .o, .ko) are read
by the ELF adapter directly; anything else goes through the decompression adapter, and an
ELF payload (an x86 bzImage's vmlinux) is then read from memory."""

from __future__ import annotations

import dataclasses
import mmap
import os
import re
import struct
from dataclasses import dataclass
from typing import Any

from cpualloc_cli.adapters.elf import is_elf_file, open_regular, read_elf, read_elf_bytes
from cpualloc_cli.errors import ElfFormatError, InputError
from cpualloc_cli.model.image import ElfImage


@dataclass(frozen=True)
class LoadedImage:
    path: str
    elf: ElfImage | None
    payload: Any | None  # cpualloc_cli.model.payload.Payload for compressed containers
    source: str


_BANNER_RE = re.compile(rb"Linux version (\d+\.\d+[0-9A-Za-z.+_~-]*) \(")
_BANNER_SCAN = 256  # occurrences of "Linux version " looked at before giving up
_BANNER_MAX = 512  # bytes of a banner kept


def find_banner(buf: Any) -> str | None:
    """The kernel's `linux_banner` ("Linux version 6.1.0-50-amd64 (debian-kernel@...) ...") in a
    buffer (bytes or mmap), or None. Other strings that start "Linux version" are skipped."""
    pos = 0
    for _ in range(_BANNER_SCAN):
        pos = buf.find(b"Linux version ", pos)
        if pos < 0:
            return None
        chunk = bytes(buf[pos:pos + _BANNER_MAX])
        if _BANNER_RE.match(chunk):
            end = chunk.find(b"\n")
            nul = chunk.find(b"\0")
            cut = min(x for x in (end, nul, len(chunk)) if x >= 0)
            return chunk[:cut].decode("ascii", "replace")
        pos += 1
    return None


def _file_banner(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                return None
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                return find_banner(mm)
    except (OSError, ValueError):
        return None


def load_any(path: str) -> LoadedImage:
    """Read `path` whatever it is; raw (non-ELF) payloads come back with elf=None. The ELF's
    `banner` is filled from the file (or the decompressed payload)."""
    loaded = _load_any(path)
    if loaded.elf is not None and loaded.elf.banner is None:
        data = getattr(loaded.payload, "data", None) if loaded.payload is not None else None
        banner = find_banner(data) if data is not None else _file_banner(path)
        if banner is not None:
            loaded = dataclasses.replace(loaded, elf=dataclasses.replace(loaded.elf, banner=banner))
    return loaded


def _load_any(path: str) -> LoadedImage:
    if not os.path.exists(path):
        raise InputError("no such file", path=path)
    if os.path.isdir(path):
        raise InputError("is a directory, not a kernel image", path=path)
    if is_elf_file(path):
        if not _may_be_mips_wrapper(path):  # (the decompression adapter's import is skipped too)
            return LoadedImage(path, read_elf(path), None, "elf")
        from cpualloc_cli.adapters.decompress import elf_wrapper_payload

        wrapped = elf_wrapper_payload(path)  # a MIPS vmlinuz: a decompressor ELF around the kernel
        if wrapped is None:
            return LoadedImage(path, read_elf(path), None, "elf")
        source = f"{wrapped.kind} payload ({wrapped.codec})"
        if wrapped.payload_is_elf and wrapped.data is not None:
            return LoadedImage(path, read_elf_bytes(wrapped.data, path), wrapped, source)
        return LoadedImage(path, None, wrapped, source)
    try:
        from cpualloc_cli.adapters.decompress import read_image_payload
    except ImportError:  # pragma: no cover - decompression adapter not installed
        return LoadedImage(path, read_elf(path), None, "elf")
    payload = read_image_payload(path)
    data = getattr(payload, "data", None)
    if getattr(payload, "payload_is_elf", False) and data is not None:
        codec = getattr(payload, "codec", None)
        kind = getattr(payload, "kind", "compressed")
        source = f"{kind} payload" + (f" ({codec})" if codec else "")
        return LoadedImage(path, read_elf_bytes(data, path), payload, source)
    return LoadedImage(path, None, payload, str(getattr(payload, "kind", "raw")))


def _may_be_mips_wrapper(path: str) -> bool:
    """False when the ELF cannot be the MIPS decompressor elf_wrapper_payload looks for: that
    needs a 52-byte header with a valid class and byte order, e_machine EM_MIPS and e_type
    ET_EXEC (decompress._mips_zboot_data); True otherwise, and when in doubt."""
    try:
        with open_regular(path) as fh:
            head = fh.read(52)
    except (OSError, InputError):
        return True
    if len(head) < 52 or head[4] not in (1, 2) or head[5] not in (1, 2):
        return False
    e_type, machine = struct.unpack_from("<HH" if head[5] == 1 else ">HH", head, 16)
    return bool(machine == EM_MIPS and e_type == ET_EXEC)


EM_MIPS = 8
ET_EXEC = 2


def load_image(path: str) -> ElfImage:
    """The ELF image in `path` (a vmlinux, .o, .ko, or a compressed image whose payload is an
    ELF). A raw payload (arm/arm64) is bad input here: the caller needs sections."""
    loaded = load_any(path)
    if loaded.elf is None:
        raise ElfFormatError("the image's payload is a raw binary, not an ELF", path=path,
                             hint="section and symbol detail needs the vmlinux")
    return loaded.elf


# ------------------------------------------------------------------------------------------
# boot-side facts (issue 13): what a boot loader and the kernel's placement rules read

UIMAGE_MAGIC = 0x27051956  # U-Boot include/image.h IH_MAGIC
UIMAGE_HEADER_BYTES = 64  # sizeof(struct legacy_img_hdr): 7 x u32, 4 x u8, ih_name[32]
UIMAGE_COMP = {0: None, 1: "gzip", 2: "bzip2", 3: "lzma", 4: "lzo", 5: "lz4", 6: "zstd"}  # IH_COMP_*
FDT_MAGIC = 0xD00DFEED  # devicetree specification 5.2: fdt_header.magic, big-endian
ZIMAGE_TABLE_TAG = 0x5A534C4B  # "KLSZ": arch/arm/boot/compressed/vmlinux.lds.S .table
BOOT_HEAD_BYTES = 1 << 16


def read_boot_facts(path: str) -> Any:
    """The header facts of a boot-side file (model.boot.BootFacts). Reads at most the file; a
    payload is decompressed only by the decompression adapter (capped), a uImage's gzip payload
    only for its first 64 KiB (the arm64 header) and its ISIZE trailer."""
    from cpualloc_cli.model.boot import BootFacts

    if not os.path.exists(path):
        raise InputError("no such file", path=path)
    if os.path.isdir(path):
        raise InputError("is a directory, not a boot image", path=path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(BOOT_HEAD_BYTES)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None
    fields: dict[str, int] = {"file_bytes": size}
    sources: dict[str, str] = {"file_bytes": f"file size of {path}"}
    if len(head) >= 8 and struct.unpack_from(">I", head, 0)[0] == FDT_MAGIC:
        (total,) = struct.unpack_from(">I", head, 4)
        fields["dtb_size"] = total
        sources["dtb_size"] = "fdt_header.totalsize (big-endian u32 at 0x04, devicetree specification 5.2)"
        return BootFacts(path, "dtb", fields, sources)
    if len(head) >= UIMAGE_HEADER_BYTES and struct.unpack_from(">I", head, 0)[0] == UIMAGE_MAGIC:
        return _uimage_facts(path, head, size, fields, sources)
    from cpualloc_cli.adapters.decompress import read_image_payload

    payload = read_image_payload(path)
    kind = str(payload.kind)
    fields["compressed_size"] = int(payload.compressed_size_bytes)
    sources["compressed_size"] = f"{kind}: compressed stream length"
    dsize = payload.decompressed_size_bytes
    if dsize is not None:
        fields["decompressed_size"] = int(dsize)
        sources["decompressed_size"] = f"{kind}: the payload as decompressed ({payload.codec or 'not compressed'})"
    for name, value in payload.header:
        if isinstance(value, int) and name in ("image_size", "text_offset", "init_size", "pref_address",
                                               "kernel_alignment", "relocatable_kernel", "flags"):
            fields[name] = value
            sources[name] = _HEADER_DOC.get((kind, name), f"{kind} header {name}")
    if kind == "arm-zimage":
        fields.update(_zimage_table(head))
        for k in ("bss_size", "zimage_text_offset", "zimage_decompressed_size"):
            if k in fields:
                sources[k] = "zImage .table (KLSZ, arch/arm/boot/compressed/vmlinux.lds.S:46-55)"
    return BootFacts(path, kind, fields, sources, codec=payload.codec, notes=tuple(payload.notes))


_HEADER_DOC = {
    ("arm64-image", "image_size"): "arm64 Image header image_size (u64 LE at 0x10, Documentation/arch/arm64/booting.rst:80)",
    ("arm64-image", "text_offset"): "arm64 Image header text_offset (u64 LE at 0x08, Documentation/arch/arm64/booting.rst:79)",
    ("bzImage", "init_size"): "bzImage setup header init_size (u32 at 0x260, Documentation/arch/x86/boot.rst:226)",
    ("bzImage", "pref_address"): "bzImage setup header pref_address (u64 at 0x258, Documentation/arch/x86/boot.rst:225)",
    ("bzImage", "kernel_alignment"): "bzImage setup header kernel_alignment (u32 at 0x230, Documentation/arch/x86/boot.rst:214)",
}


def _zimage_table(head: bytes) -> dict[str, int]:
    """arm zImage: the word at 0x38 (after 0x45454545 at 0x34) is the offset of the .table:
    ZIMAGE_MAGIC(6), "KLSZ", offset of the decompressed-size word, _kernel_bss_size, TEXT_OFFSET,
    MALLOC_SIZE (arch/arm/boot/compressed/head.S:215-220, vmlinux.lds.S:46-55). Little-endian only."""
    out: dict[str, int] = {}
    if len(head) < 0x3C or struct.unpack_from("<I", head, 0x34)[0] != 0x45454545:
        return out
    (table,) = struct.unpack_from("<I", head, 0x38)
    if table + 24 > len(head):
        return out
    count, tag, size_at, bss, text_offset, _malloc = struct.unpack_from("<6I", head, table)
    if tag != ZIMAGE_TABLE_TAG:
        return out
    out["bss_size"] = bss
    out["zimage_text_offset"] = text_offset
    if size_at + 4 <= len(head):
        out["zimage_decompressed_size"] = struct.unpack_from("<I", head, size_at)[0]
    return out


def _uimage_facts(path: str, head: bytes, size: int, fields: dict[str, int], sources: dict[str, str]) -> Any:
    """U-Boot legacy image (include/image.h struct legacy_img_hdr, big-endian): ih_size at 0x0c,
    ih_load 0x10, ih_ep 0x14, ih_comp at 0x1f; the data follows the 64-byte header."""
    import zlib

    from cpualloc_cli.model.boot import BootFacts

    ih_size, ih_load, ih_ep = struct.unpack_from(">III", head, 12)
    comp = UIMAGE_COMP.get(head[31], f"comp{head[31]}")
    data_end = min(UIMAGE_HEADER_BYTES + ih_size, size)  # clamp to the file
    fields.update(load_addr=ih_load, entry_addr=ih_ep, compressed_size=data_end - UIMAGE_HEADER_BYTES)
    sources.update(load_addr="uImage ih_load (0x10)", entry_addr="uImage ih_ep (0x14)",
                   compressed_size="uImage ih_size (0x0c), clamped to the file")
    notes: list[str] = []
    if UIMAGE_HEADER_BYTES + ih_size > size:
        notes.append(f"ih_size {ih_size} runs past the end of the file ({size} bytes): truncated")
    inner: bytes = b""
    if comp is None:
        fields["decompressed_size"] = data_end - UIMAGE_HEADER_BYTES
        sources["decompressed_size"] = "uImage ih_size (IH_COMP_NONE: the data as stored)"
        inner = head[UIMAGE_HEADER_BYTES:]
    elif comp == "gzip" and data_end - UIMAGE_HEADER_BYTES >= 18:
        try:
            with open(path, "rb") as fh:
                fh.seek(data_end - 4)
                (isize,) = struct.unpack("<I", fh.read(4))
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", path=path) from None
        fields["decompressed_size"] = isize
        sources["decompressed_size"] = "gzip ISIZE trailer of the uImage data (RFC 1952 2.3.1: size mod 2^32)"
        try:
            inner = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head[UIMAGE_HEADER_BYTES:data_end], 4096)
        except zlib.error:
            notes.append("the gzip payload does not decode")
    inner_kind = None
    if len(inner) >= 0x40 and inner[0x38:0x3C] == b"ARM\x64":
        inner_kind = "arm64-image"
        text_offset, image_size = struct.unpack_from("<QQ", inner, 0x08)
        fields.update(text_offset=text_offset, image_size=image_size)
        sources.update(text_offset=_HEADER_DOC[("arm64-image", "text_offset")],
                       image_size=_HEADER_DOC[("arm64-image", "image_size")])
    return BootFacts(path, "uimage", fields, sources, codec=comp, inner_kind=inner_kind, notes=tuple(notes))
