"""What a boot image's header says (issue 13): the facts a boot loader and the kernel's own
placement rules use. Built by adapters/image.py (read_boot_facts); stdlib only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BootFacts:
    """One boot-side file: a kernel image (arm64 Image[.gz], arm zImage, x86 bzImage, a U-Boot
    legacy uImage holding one of them) or a device tree blob.

    `fields` holds integer header facts by name: file_bytes, decompressed_size, image_size,
    text_offset, init_size, pref_address, kernel_alignment, relocatable_kernel, load_addr,
    entry_addr, bss_size, dtb_size; `sources` says where each came from (offset and document)."""

    path: str
    kind: str  # "arm64-image", "arm-zimage", "bzImage", "uimage", "dtb", "file"
    fields: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    codec: str | None = None
    inner_kind: str | None = None  # a uImage's payload kind (arm64-image, ...), when recognised
    notes: tuple[str, ...] = ()

    def get(self, name: str) -> int | None:
        return self.fields.get(name)


PLATFORM_ADDRESSES = ("load_addr", "dtb_addr", "initrd_addr", "ram_base", "ram_size")


@dataclass(frozen=True)
class Platform:
    """A cited preset: bound parameters, addresses and extra limits for one board or boot flow."""

    id: str
    title: str
    arches: tuple[str, ...]
    params: dict[str, int]
    addresses: dict[str, int]
    limits: tuple[Any, ...]  # model.limits.Limit
    sources: tuple[str, ...]
    note: str = ""
    origin: str = "database"
