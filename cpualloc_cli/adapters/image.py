"""One entry point for every kernel image a user has: ELF files (vmlinux, .o, .ko) are read
by the ELF adapter directly; anything else goes through the decompression adapter, and an
ELF payload (an x86 bzImage's vmlinux) is then read from memory."""

from __future__ import annotations

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


def load_any(path: str) -> LoadedImage:
    """Read `path` whatever it is; raw (non-ELF) payloads come back with elf=None."""
    import os

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
