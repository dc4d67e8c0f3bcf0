"""The boot memory budget: what the kernel takes from RAM before userspace (data only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Machine(StrEnum):
    """How RAM of a given size appears to the kernel (the firmware memory map)."""

    FLAT = "flat"  # all of RAM present from physical address 0, no holes
    QEMU_PC = "qemu-pc"  # qemu's i440fx PC with SeaBIOS (e820 holes below 1 MiB, 3 GiB split)
    QEMU_VIRT = "qemu-virt"  # qemu's arm virt board: RAM from 1 GiB, a 1 MiB DTB (direct -kernel boot)


@dataclass(frozen=True, slots=True)
class BootMemInputs:
    """Everything the boot memory analysis needs, already resolved (no Kconfig, no ELF)."""

    arch: str
    kernel_version: tuple[int, ...]
    bits: int
    page_size: int
    memory_bytes: int
    machine: Machine
    possible_cpus: int
    symbols: dict[str, int]  # linker symbol -> address (those found in the image's .symtab)
    symbols_reason: str | None = None  # why there are none (a stripped vmlinuz), when empty
    config: dict[str, str] | None = None  # CONFIG_ values without the prefix; None: no config
    percpu_size_sum_bytes: int | None = None  # per possible CPU, from the percpu model
    percpu_line: str | None = None
    crashkernel_bytes: int = 0
    initrd_bytes: int = 0  # the initramfs the boot loader passes (reserved, freed once unpacked)
    struct_page_bytes: int | None = None  # None: from the arch/version table
    dtb_bytes: int | None = None  # the flattened DT's fdt_totalsize (arm64); None: the machine's, if known


@dataclass(frozen=True, slots=True)
class BootMemRow:
    """One thing taken at boot. `bytes_` None means inconclusive, with the reason in `note`."""

    name: str
    bytes_: int | None
    formula: str
    inputs: str
    source: str  # file:line in Linux 6.1
    counted: str  # "reserved" (in the Memory: line's reserved), "image" (part of the kernel image
    # row), "freed" (given back later, before userspace), "buddy" (allocated after mem_init)
    note: str = ""


@dataclass(frozen=True, slots=True)
class BootMemReport:
    inputs: BootMemInputs
    present_bytes: int  # the Memory: line's total (physpages)
    image_figures: dict[str, int | None]  # code/rwdata/rodata/init/bss in bytes (None: no symbols)
    rows: tuple[BootMemRow, ...]
    reserved_bytes: int | None  # sum of the modelled "reserved" rows; None when one is inconclusive
    available_bytes: int | None  # predicted nr_free_pages at mem_init (kernel image outside the
    # initialised range when deferred); None when inconclusive
    available_min_bytes: int | None  # the same with the kernel image inside the initialised range
    memtotal_bytes: int | None  # /proc/meminfo MemTotal once init is freed
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class ReservedPoint:
    """One value of a memory_reserved sweep (bytes; None: inconclusive at that value)."""

    value: int
    nr_cpus: int
    possible_cpus: int
    reserved_bytes: int | None
    percpu_bytes: int | None
    image_bytes: int | None
    static_delta_bytes: int  # BSS change from the scale model against the image's NR_CPUS
    static_fixed: bool  # NR_CPUS swept without a scale model: the image's static arrays kept
    available_bytes: int | None
