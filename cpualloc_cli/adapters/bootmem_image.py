"""The linker symbols the boot memory model needs, read from an arm64 Image (a raw binary).

An arm64 Image is `objcopy -O binary` of vmlinux: no ELF, no `.symtab`. Debian's arm64 6.1
build has KALLSYMS=y but not KALLSYMS_ALL (its config), so kallsyms holds only text symbols:
`_stext`, `_etext`, `__init_begin`, `_sinittext`, `_einittext`, every function. The data-side
symbols come from three places in the image itself, each cross-checked against another:

- the Image header's `image_size` = `_end - _text` (arch/arm64/kernel/head.S:63,
  arch/arm64/kernel/image.h:64 `_kernel_size_le`);
- the PE/COFF section table of the EFI stub header (arch/arm64/kernel/efi-header.S:89-117):
  `.text` ends at `__initdata_begin` (= `__inittext_end`), `.data` starts at `__initdata_begin` with
  `SizeOfRawData = __pecoff_data_rawsize = _edata - __initdata_begin` and
  `VirtualSize = __pecoff_data_size = _end - __initdata_begin`
  (arch/arm64/kernel/vmlinux.lds.S:236-237,302,313);
- the code of the two functions that compute the figures: `mem_init_print_info()`
  (mm/page_alloc.c:8509-8557) subtracts six pairs of linker symbols, `_etext - _stext`,
  `_edata - _sdata`, `__end_rodata - __start_rodata`, `__bss_stop - __bss_start`,
  `__init_end - __init_begin`, `_einittext - _sinittext`, each operand built PC-relative with
  `adrp` + `add` (position-independent, so the raw Image holds the final offsets); and
  `pcpu_build_alloc_info()` computes `static_size = __per_cpu_end - __per_cpu_start`
  (mm/percpu.c:2866). The pairs are told apart by the 6.1 linker script's order
  (arch/arm64/kernel/vmlinux.lds.S:161-314: text, rodata, init text, init, data, bss) and
  checked against the kallsyms and PE values; any disagreement is a reason, never a guess.

All addresses are offsets from `_text` (the Image's first byte): the kernel is linked and
loaded with `_text` page-aligned, so `adrp` page arithmetic on file offsets is exact.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import Any

from cpualloc_cli.errors import InputError

ARM64_MAGIC = b"ARM\x64"  # Image header offset 0x38 (Documentation/arm64/booting.rst:88-102)
_MAX_FUNC = 1 << 16  # bytes of one function decoded at most


@dataclass(frozen=True)
class RawImageSymbols:
    """What an arm64 Image tells the boot memory model. `symbols` are offsets from `_text`."""

    arch: str
    symbols: dict[str, int]
    percpu_static_bytes: int | None
    reason: str | None  # why a figure is missing (None: all found and cross-checked)
    sources: tuple[str, ...] = field(default_factory=tuple)


def is_arm64_image(path: str) -> bool:
    """True when the file is an uncompressed arm64 Image (its header magic)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError:
        return False
    return len(head) == 64 and head[0x38:0x3C] == ARM64_MAGIC


_CONFIG_RE = re.compile(r"^CONFIG_([A-Za-z0-9_]+)=(.*)$", re.M)


def read_config_as_written(path: str) -> dict[str, str]:
    """Every `CONFIG_X=value` of a `.config` file as written (quotes kept off strings), for the
    symbols the bundled Kconfig model does not carry (its arm64 model has a few dozen)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(8 << 20)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None
    return {m.group(1): m.group(2).strip().strip('"') for m in _CONFIG_RE.finditer(text)}


def _sext(v: int, bits: int) -> int:
    return v - (1 << bits) if v & (1 << (bits - 1)) else v


def sub_pairs(buf: Any, start: int, length: int) -> list[tuple[int, int]]:
    """(minuend, subtrahend) of every 64-bit `sub Xd, Xn, Xm` in [start, start + length) whose two
    operands were built by `adrp Xr, page` + `add Xr, Xr, #lo12` (Arm ARM C6.2.11 ADRP,
    C6.2.4 ADD (immediate), C6.2.314 SUB (shifted register)). Little-endian A64 only."""
    page: dict[int, int] = {}
    known: dict[int, int] = {}
    out: list[tuple[int, int]] = []
    if start < 0 or start % 4 or length <= 0:
        return out
    end = min(start + min(length, _MAX_FUNC), len(buf)) // 4 * 4
    for pc in range(start, end, 4):
        (i,) = struct.unpack_from("<I", buf, pc)
        rd = i & 31
        if i & 0x9F000000 == 0x90000000:  # ADRP
            imm = _sext((((i >> 5) & 0x7FFFF) << 2) | ((i >> 29) & 3), 21) << 12
            page[rd] = (pc & ~0xFFF) + imm
            known.pop(rd, None)
        elif i & 0xFF000000 == 0x91000000:  # ADD (immediate), 64-bit
            rn = (i >> 5) & 31
            imm = ((i >> 10) & 0xFFF) << (12 if (i >> 22) & 1 else 0)
            base = page.get(rn)
            page.pop(rd, None)
            if base is not None and rd != 31:
                known[rd] = base + imm
            else:
                known.pop(rd, None)
        elif i & 0xFF20FC00 == 0xCB000000:  # SUB (shifted register), 64-bit, LSL #0
            rn, rm = (i >> 5) & 31, (i >> 16) & 31
            if rn in known and rm in known:
                out.append((known[rn], known[rm]))
            page.pop(rd, None)
            known.pop(rd, None)
    return out


def _pe_sections(buf: Any) -> dict[str, tuple[int, int, int]] | None:
    """name -> (VirtualAddress, VirtualSize, SizeOfRawData) of the EFI stub's PE header."""
    if len(buf) < 0x40 or buf[:2] != b"MZ":
        return None
    (pe,) = struct.unpack_from("<I", buf, 0x3C)
    if pe + 24 > min(len(buf), 4096) or bytes(buf[pe:pe + 4]) != b"PE\0\0":
        return None
    nsec, = struct.unpack_from("<H", buf, pe + 6)
    opt, = struct.unpack_from("<H", buf, pe + 20)
    out: dict[str, tuple[int, int, int]] = {}
    for k in range(min(nsec, 16)):
        off = pe + 24 + opt + 40 * k
        if off + 40 > len(buf):
            return None
        name, vsize, va, rsize = struct.unpack_from("<8sIII", buf, off)
        out[name.rstrip(b"\0").decode("latin-1")] = (va, vsize, rsize)
    return out


def _branch_target(buf: Any, pc: int) -> int | None:
    if len(buf) < pc + 4:
        return None
    (i,) = struct.unpack_from("<I", buf, pc)
    if i & 0xFC000000 != 0x14000000:  # B imm26
        return None
    return pc + _sext(i & 0x3FFFFFF, 26) * 4


def read_arm64_image_symbols(path: str) -> RawImageSymbols:
    """The boot memory symbols of the arm64 Image at `path` (see the module docstring)."""
    from cpualloc_cli.adapters.decompress import read_image_payload
    from cpualloc_cli.adapters.kallsyms import find_kallsyms

    payload = read_image_payload(path)
    buf = payload.data
    if payload.kind != "arm64-image" or buf is None:
        raise InputError(f"not an arm64 Image ({payload.kind})", path=path,
                         hint="give the vmlinux, or an arm64 Image/vmlinuz")
    image_size = payload.header_value("image_size")
    syms: dict[str, int] = {"_text": 0}
    src: list[str] = []
    if isinstance(image_size, int) and image_size > 0:
        syms["_end"] = image_size
        src.append("_end - _text = image_size from the Image header (arch/arm64/kernel/image.h:64)")
    ks = find_kallsyms(buf, path)
    if ks is None:
        return RawImageSymbols("arm64", syms, None, "the Image has no kallsyms (CONFIG_KALLSYMS=n)", tuple(src))
    want = {"_stext", "_etext", "__init_begin", "_sinittext", "_einittext", "primary_entry",
            "mem_init_print_info", "pcpu_build_alloc_info"}
    at: dict[str, int] = {}
    length: dict[str, int] = {}
    names = ks.names()
    for k, name in enumerate(names):
        if name in want and name not in at:
            at[name] = ks.addresses[k]
            length[name] = (ks.addresses[k + 1] - ks.addresses[k]) if k + 1 < len(names) else 0
    missing = sorted(want - set(at))
    if missing:
        return RawImageSymbols("arm64", syms, None, f"kallsyms lacks {', '.join(missing)}", tuple(src))
    # kallsyms holds offsets from its relative base (the lowest symbol, _stext; the base itself is
    # a relocation left 0 in the raw binary). _stext's place in the file: the header's branch to
    # primary_entry (code1 after the EFI "MZ" nop, else code0; arch/arm64/kernel/head.S:58-61).
    target = _branch_target(buf, 4) if buf[:2] == b"MZ" else _branch_target(buf, 0)
    if target is None:
        return RawImageSymbols("arm64", syms, None, "the Image header has no branch to primary_entry", tuple(src))
    delta = target - at["primary_entry"]
    for name in ("_stext", "_etext", "__init_begin", "_sinittext", "_einittext"):
        syms[name] = at[name] + delta
    src.append(f"_stext, _etext, __init_begin, _sinittext, _einittext from kallsyms ({ks.describe()}); "
               f"_stext at {delta:#x} in the Image (the header's branch to primary_entry)")
    pe = _pe_sections(buf)
    if pe is not None and ".text" in pe and ".data" in pe:
        va, vsize, rsize = pe[".data"]
        syms["__initdata_begin"] = va
        syms["__inittext_end"] = pe[".text"][0] + pe[".text"][1]  # = __initdata_begin (vmlinux.lds.S:236-237)
        if syms["__inittext_end"] != va:
            return RawImageSymbols("arm64", syms, None, "the PE header's .text does not end where .data starts",
                                   tuple(src))
        pe_edata, pe_end = va + rsize, va + vsize
        if "_end" in syms and pe_end != syms["_end"]:
            return RawImageSymbols("arm64", syms, None, f"the PE header's _end {pe_end:#x} disagrees with image_size "
                                   f"{syms['_end']:#x}", tuple(src))
        syms.setdefault("_end", pe_end)
        src.append("__initdata_begin, __inittext_end, _edata, _end from the EFI PE section table "
                   "(arch/arm64/kernel/efi-header.S:89-117)")
    else:
        pe_edata = None
    pairs = sorted(set(sub_pairs(buf, at["mem_init_print_info"] + delta, length["mem_init_print_info"])),
                   key=lambda p: (p[1], p[0]))
    order = (("_etext", "_stext"), ("__end_rodata", "__start_rodata"), ("_einittext", "_sinittext"),
             ("__init_end", "__init_begin"), ("_edata", "_sdata"), ("__bss_stop", "__bss_start"))
    reason = None
    if len(pairs) != len(order):
        reason = f"mem_init_print_info subtracts {len(pairs)} symbol pairs, not the 6 of Linux 6.1"
    else:
        got = {}
        for (hi, lo), (end, start) in zip(pairs, order, strict=True):
            got[end], got[start] = hi, lo
        checks = [(n, syms[n]) for n in ("_stext", "_etext", "_sinittext", "_einittext", "__init_begin")]
        if pe_edata is not None:
            checks.append(("_edata", pe_edata))
        bad = [n for n, v in checks if got[n] != v]
        if bad:
            reason = f"mem_init_print_info's operands disagree with kallsyms/PE for {', '.join(bad)}"
        else:
            syms.update(got)
            src.append("__start_rodata, __end_rodata, __init_end, _sdata, _edata, __bss_start, __bss_stop from "
                       "the adrp/add operands of the six subtractions in mem_init_print_info (mm/page_alloc.c:8515-8520)")
    static = None
    if reason is None:
        lo_i, hi_i = syms["__initdata_begin"] if "__initdata_begin" in syms else syms["__init_begin"], syms["__init_end"]
        per = [(a, b) for a, b in sub_pairs(buf, at["pcpu_build_alloc_info"] + delta, length["pcpu_build_alloc_info"])
               if lo_i <= b < a <= hi_i]
        if len(set(per)) == 1:
            syms["__per_cpu_end"], syms["__per_cpu_start"] = per[0]
            static = per[0][0] - per[0][1]
            src.append("__per_cpu_end - __per_cpu_start from pcpu_build_alloc_info's subtraction (mm/percpu.c:2866; "
                       "PERCPU_SECTION in init data, arch/arm64/kernel/vmlinux.lds.S:255)")
    return RawImageSymbols("arm64", syms, static, reason, tuple(src))
