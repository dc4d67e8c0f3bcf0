"""Boot-side measures and the placement check (issue 13): where the kernel's real footprint lies
once a boot loader has put it at its load address, and what it runs into.

The rules are the kernel's own (cited on each limit in data/limits.toml):
- arm64 (Documentation/arch/arm64/booting.rst:135-140): the Image sits text_offset bytes above a
  2 MiB aligned base, and image_size bytes from its start (BSS included) must be free.
- arm zImage (Documentation/arch/arm/booting.rst:137-142,174-175; arch/arm/boot/compressed/head.S:261-281):
  the decompressor takes (its address & 0xf8000000) as the start of RAM and writes the kernel at
  that + TEXT_OFFSET, its 16 KiB of page tables just below; decompressed size + BSS must not reach
  the DTB or initrd, and the zImage must be in the first 128 MiB of RAM.
- x86 (Documentation/arch/x86/boot.rst:885-911): runtime_start = align_up(max(load, pref_address),
  kernel_alignment) for a relocatable kernel (else pref_address); init_size bytes from it must be RAM.

Pure: model types in, LimitOutcome out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cpualloc_cli.model.boot import BootFacts
from cpualloc_cli.model.findings import Severity
from cpualloc_cli.model.limits import Fix, Limit, LimitOutcome, Status
from cpualloc_cli.model.measures import Measure, format_bytes

SZ_2M = 2 << 20
ARM64_DEFAULT_TEXT_OFFSET = 0x80000  # booting.rst:100-104, when image_size is zero
ARM_TEXT_OFFSET = 0x8000  # arch/arm/Makefile:161 textofs-y
ARM_PGTABLE_BYTES = 0x4000  # the decompressed kernel's initial page tables sit 16 KiB below it
ARM_ZRELADDR_MASK = 0xF8000000  # head.S:280: and r0, r0, #0xf8000000 (128 MiB)
ARM_WINDOW = 128 << 20


@dataclass(frozen=True)
class PlacementInputs:
    """Addresses and sizes of one boot (from check's options or a --platform preset)."""

    load_addr: int | None = None
    dtb_addr: int | None = None
    initrd_addr: int | None = None
    ram_base: int | None = None
    ram_size: int | None = None
    dtb_size: int | None = None
    initrd_size: int | None = None
    source: str = "options"  # "options" or "platform NAME" (where the addresses came from)

    @property
    def given(self) -> bool:
        return self.load_addr is not None


def align_up(value: int, align: int) -> int:
    return value if align <= 1 else -(-value // align) * align


def compute_stack_cpumask_bytes(nr_cpus: int, long_bytes: int) -> int:
    """sizeof(cpumask_t) = BITS_TO_LONGS(NR_CPUS) x sizeof(long) (include/linux/cpumask.h:19,
    include/linux/bitops.h:19)."""
    bits = long_bytes * 8
    return -(-nr_cpus // bits) * long_bytes


def compute_partition_blocks(file_bytes: int, erase_block: int | None) -> int:
    """The bytes a file takes in a partition padded to whole erase blocks (or fs blocks)."""
    return align_up(file_bytes, erase_block or 1)


def compute_boot_measures(kernel: BootFacts | None, dtb: BootFacts | None, dtb_size: int | None,
                          params: Mapping[str, int]) -> tuple[dict[str, float], dict[str, str]]:
    """The boot-side measures the facts give: decompressed_size, image_size, init_size,
    compressed_size, partition_blocks (of the kernel boot file) and dtb_size."""
    values: dict[str, float] = {}
    sources: dict[str, str] = {}
    if kernel is not None:
        f = kernel.fields
        for name in (Measure.DECOMPRESSED_SIZE, Measure.IMAGE_SIZE, Measure.INIT_SIZE, Measure.COMPRESSED_SIZE):
            # decompressed_size is what the boot loader decompresses (U-Boot bootm: a uImage's data);
            # a bzImage, zImage or Image.gz payload is decompressed by the kernel or by booti, which
            # sizes its own buffer (U-Boot v2023.01 cmd/booti.c:66: kernel_comp_size x 10)
            if name is Measure.DECOMPRESSED_SIZE and kernel.kind != "uimage":
                continue
            if name.value in f:  # the header field of the same name
                values[name] = float(f[name.value])
                sources[name] = f"{kernel.path}: {kernel.sources.get(name, name)}"
        if kernel.kind == "arm-zimage" and "decompressed_size" in f and "bss_size" in f:
            sources[Measure.DECOMPRESSED_SIZE] += f" (BSS {f['bss_size']} B more at run time)"
        eb = params.get("erase_block")
        values[Measure.PARTITION_BLOCKS] = float(compute_partition_blocks(f["file_bytes"], eb))
        sources[Measure.PARTITION_BLOCKS] = (f"{kernel.path}: file size {f['file_bytes']} B"
                                       + (f" rounded up to the {format_bytes(eb)} ({eb} B) erase block" if eb else ""))
    if dtb_size is not None:
        values[Measure.DTB_SIZE] = float(dtb_size)
        sources[Measure.DTB_SIZE] = "--dtb-size"
    elif dtb is not None and "dtb_size" in dtb.fields:
        values[Measure.DTB_SIZE] = float(dtb.fields["dtb_size"])
        sources[Measure.DTB_SIZE] = f"{dtb.path}: {dtb.sources['dtb_size']}"
    return values, sources


# ------------------------------------------------------------------------------------------
# placement


def _hex(v: int) -> str:
    return f"0x{v:x}"


def _size(v: int) -> str:
    return f"{v} B" if v < 1024 else f"{format_bytes(v)} ({v} B)"


@dataclass(frozen=True)
class _Region:
    name: str
    start: int
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size

    def overlaps(self, other: _Region) -> bool:
        return self.start < other.end and other.start < self.end and self.size > 0 and other.size > 0

    def show(self) -> str:
        return f"{self.name} {_hex(self.start)}..{_hex(self.end)} ({_size(self.size)})"


@dataclass(frozen=True)
class _Footprint:
    region: _Region  # the kernel's footprint
    lines: tuple[str, ...]
    problems: tuple[tuple[str, Fix | None], ...]  # arch-specific findings before the overlaps


def _arm64(kernel: BootFacts, p: PlacementInputs) -> _Footprint | str:
    assert p.load_addr is not None
    f = kernel.fields
    image_size = f.get("image_size", 0)
    text_offset = f.get("text_offset", ARM64_DEFAULT_TEXT_OFFSET)
    if image_size == 0:
        return "image_size is 0 (a kernel before v3.17): the footprint is unbounded (arm64/booting.rst:130-133)"
    lines = [f"arm64 Image: text_offset {_hex(text_offset)}, image_size {_size(image_size)} [{kernel.path} header]",
             f"kernel footprint = load {_hex(p.load_addr)} .. load + image_size = {_hex(p.load_addr + image_size)}"]
    problems: list[tuple[str, Fix | None]] = []
    base = p.load_addr - text_offset
    if base % SZ_2M:
        good = align_up(base, SZ_2M) + text_offset
        problems.append((f"load {_hex(p.load_addr)} - text_offset {_hex(text_offset)} = {_hex(base)} is not 2 MiB "
                         f"aligned (booting.rst:135)", Fix(f"load the Image at {_hex(good)} (a 2 MiB aligned base "
                                                           f"+ text_offset)", "summary", good)))
    return _Footprint(_Region("kernel (image_size)", p.load_addr, image_size), tuple(lines), tuple(problems))


def _arm(kernel: BootFacts, p: PlacementInputs) -> _Footprint | str:
    assert p.load_addr is not None
    f = kernel.fields
    dsize = f.get("decompressed_size") or f.get("zimage_decompressed_size")
    if dsize is None:
        return "the zImage's decompressed size is unknown"
    bss = f.get("bss_size", 0)
    text_offset = f.get("zimage_text_offset", ARM_TEXT_OFFSET)
    zrel_base = p.load_addr & ARM_ZRELADDR_MASK
    zreladdr = zrel_base + text_offset
    start = zreladdr - ARM_PGTABLE_BYTES
    size = ARM_PGTABLE_BYTES + dsize + bss
    lines = [f"arm zImage: decompressed size {_size(dsize)}, BSS {_size(bss)}, TEXT_OFFSET {_hex(text_offset)} "
             f"[{kernel.path}]",
             f"RAM start as the decompressor computes it = load {_hex(p.load_addr)} & 0xf8000000 = {_hex(zrel_base)}; "
             f"kernel at {_hex(zrel_base)} + {_hex(text_offset)} = {_hex(zreladdr)}",
             f"kernel footprint = {_hex(zreladdr)} - 16 KiB page tables .. + {dsize} + BSS {bss} = "
             f"{_hex(start)}..{_hex(start + size)}"]
    problems: list[tuple[str, Fix | None]] = []
    if p.ram_base is not None:
        if not p.ram_base <= p.load_addr < p.ram_base + ARM_WINDOW:
            problems.append((f"the zImage at {_hex(p.load_addr)} is outside the first 128 MiB of RAM "
                             f"({_hex(p.ram_base)}..{_hex(p.ram_base + ARM_WINDOW)}) (arm/booting.rst:174-175)",
                             Fix(f"load the zImage below {_hex(p.ram_base + ARM_WINDOW)}", "summary",
                                 p.ram_base + ARM_WINDOW)))
        elif zrel_base != p.ram_base:
            problems.append((f"the decompressor's RAM start {_hex(zrel_base)} is not the RAM base "
                             f"{_hex(p.ram_base)} (RAM not 128 MiB aligned)", None))
    return _Footprint(_Region("kernel (decompressed + BSS)", start, size), tuple(lines), tuple(problems))


def _x86(kernel: BootFacts, p: PlacementInputs) -> _Footprint | str:
    assert p.load_addr is not None
    f = kernel.fields
    init_size = f.get("init_size")
    if init_size is None:
        return "no init_size in the bzImage header (boot protocol before 2.10)"
    pref = f.get("pref_address", 0)
    align = f.get("kernel_alignment", 1) or 1
    reloc = bool(f.get("relocatable_kernel", 1))
    if reloc:
        start = align_up(max(p.load_addr, pref), align)
        how = (f"runtime_start = align_up(max(load {_hex(p.load_addr)}, pref_address {_hex(pref)}), "
               f"kernel_alignment {_hex(align)}) = {_hex(start)}")
    else:
        start = pref
        how = f"not relocatable: runtime_start = pref_address = {_hex(pref)}"
    lines = [f"x86 bzImage: init_size {_size(init_size)}, pref_address {_hex(pref)}, kernel_alignment {_hex(align)} "
             f"[{kernel.path} setup header]", how + " (x86/boot.rst:899-911)",
             f"kernel footprint = {_hex(start)} .. + init_size = {_hex(start + init_size)}"]
    return _Footprint(_Region("kernel (init_size)", start, init_size), tuple(lines), ())


_ARCH_RULES = {"arm64": _arm64, "arm": _arm, "x86_64": _x86, "i386": _x86}


def evaluate_placement(limit: Limit, arch: str, kernel: BootFacts | None, p: PlacementInputs,
                       base: LimitOutcome) -> LimitOutcome:
    """One placement limit over this boot's addresses: every overlap and window violation, with
    the addresses, the arithmetic and a fix."""
    if not p.given:
        return _skip(base, "no load address (--load-addr, or a --platform preset with addresses)")
    if kernel is None:
        return _skip(base, "needs the kernel's boot image (--boot-image FILE: Image, Image.gz, zImage, bzImage, uImage)")
    rule = _ARCH_RULES.get(arch)
    if rule is None:
        return _skip(base, f"no placement rules for {arch}")
    fp = rule(kernel, p)
    if isinstance(fp, str):
        return _skip(base, fp)
    k = fp.region
    lines = list(fp.lines)
    if p.source != "options":
        lines.append(f"addresses from {p.source}")
    problems = list(fp.problems)
    others: list[_Region] = []
    if p.dtb_addr is not None:
        if p.dtb_size is None:
            lines.append(f"DTB at {_hex(p.dtb_addr)}: size unknown (give --dtb FILE or --dtb-size): taken as 1 byte")
        others.append(_Region("DTB", p.dtb_addr, p.dtb_size or 1))
        if arch == "arm64" and p.dtb_addr % 8:
            problems.append((f"DTB at {_hex(p.dtb_addr)} is not 8-byte aligned (arm64/booting.rst:50)",
                             Fix(f"place the DTB at {_hex(align_up(p.dtb_addr, 8))}", "summary",
                                 align_up(p.dtb_addr, 8))))
    if p.initrd_addr is not None:
        if p.initrd_size is None:
            lines.append(f"initrd at {_hex(p.initrd_addr)}: size unknown (give --initrd FILE or --initrd-size): "
                         "taken as 1 byte")
        others.append(_Region("initrd", p.initrd_addr, p.initrd_size or 1))
    for o in others:
        lines.append(o.show())
        if k.overlaps(o):
            lo, hi = max(k.start, o.start), min(k.end, o.end)
            clear = align_up(k.end, 8 if o.name == "DTB" else 4096)
            floor = p.ram_base or 0
            below = f", or at {_hex(k.start - o.size)} or below" if k.start - o.size >= floor else ""
            problems.append((f"{o.name} {_hex(o.start)}..{_hex(o.end)} overlaps the {k.name} {_hex(k.start)}..{_hex(k.end)}"
                             f" by {_size(hi - lo)} ({_hex(lo)}..{_hex(hi)})",
                             Fix(f"move the {o.name} to {_hex(clear)} or above (the first "
                                 f"{'8-byte' if o.name == 'DTB' else 'page'}-aligned address past the kernel's "
                                 f"footprint){below}", "summary", clear)))
    if len(others) == 2 and others[0].overlaps(others[1]):
        a, b = others
        problems.append((f"{a.name} {_hex(a.start)}..{_hex(a.end)} and {b.name} {_hex(b.start)}..{_hex(b.end)} overlap",
                         Fix(f"move the {b.name} to {_hex(align_up(a.end, 4096))} or above", "summary",
                             align_up(a.end, 4096))))
    if not others and (p.ram_base is None or p.ram_size is None) and not problems:
        return _skip(base, f"nothing to place the kernel against: no DTB or initrd address and no RAM range "
                           f"(kernel footprint {_hex(k.start)}..{_hex(k.end)})")
    room: int | None = None
    ram_end = p.ram_base + p.ram_size if p.ram_base is not None and p.ram_size is not None else None
    if ram_end is not None:
        assert p.ram_base is not None
        lines.append(f"RAM {_hex(p.ram_base)}..{_hex(ram_end)}")
        if k.start < p.ram_base or k.end > ram_end:
            fits = max(0, ram_end - k.start)
            problems.append((f"the {k.name} {_hex(k.start)}..{_hex(k.end)} runs outside RAM "
                             f"{_hex(p.ram_base)}..{_hex(ram_end)}",
                             Fix(f"the largest footprint that fits from {_hex(k.start)} is {_size(fits)}", "summary",
                                 fits)))
    # the room from the kernel's start to the next thing above it (or the end of RAM)
    above = [o.start for o in others if o.start >= k.start] + ([ram_end] if ram_end is not None else [])
    if above:
        room = min(above) - k.start
        op = "<=" if k.size <= room else ">"
        lines.append(f"{k.name} {_size(k.size)} {op} room to the next object {_size(room)}: "
                     f"margin {room - k.size} B")
    fixes = tuple(fx for _, fx in problems if fx is not None)
    lines += [f"problem: {text}" for text, _ in problems]
    status = Status.FAIL if problems else Status.PASS
    return LimitOutcome(
        rule=base.rule, title=base.title, status=status, severity=base.severity if problems else base.severity,
        measure=limit.measure, measured=float(k.size), bound=float(room) if room is not None else None,
        margin=float(room - k.size) if room is not None else None, unit="bytes",
        basis=f"placement ({p.source})", arithmetic=tuple(lines), fixes=fixes, sources=base.sources,
        note=base.note, path=kernel.path, origin=base.origin)


def _skip(base: LimitOutcome, why: str) -> LimitOutcome:
    from dataclasses import replace

    return replace(base, status=Status.SKIPPED, skip_reason=why, severity=Severity(base.severity.value))
