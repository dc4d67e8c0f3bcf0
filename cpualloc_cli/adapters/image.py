"""One entry point for every kernel image a user has: ELF files (vmlinux, .o, .ko) are read
by the ELF adapter directly; anything else goes through the decompression adapter, and an
ELF payload (an x86 bzImage's vmlinux) is then read from memory."""

from __future__ import annotations

import dataclasses
import mmap
import os
import re
from dataclasses import dataclass
from typing import Any

from cpualloc_cli.adapters.elf import is_elf_file, read_elf, read_elf_bytes
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


def load_image(path: str) -> ElfImage:
    """The ELF image in `path` (a vmlinux, .o, .ko, or a compressed image whose payload is an
    ELF). A raw payload (arm/arm64) is bad input here: the caller needs sections."""
    loaded = load_any(path)
    if loaded.elf is None:
        raise ElfFormatError("the image's payload is a raw binary, not an ELF", path=path,
                             hint="section and symbol detail needs the vmlinux")
    return loaded.elf
