"""Generators for the hostile-input classes of issue 17 (an independent attacker's 71 inputs).

The mutators in mutators.py change bytes of inputs the harness already has; these make the
inputs and *situations* that a byte mutator never reaches: a planted ``kconfigfunctions.py``
in the working directory, a poisoned parse-cache entry, a top-level ``Kconfig`` that is a
symlink out of the tree, ``-o`` through a symlink or into a FIFO, a FIFO or ``/dev/zero`` as
an input, policy files planted in a world-writable ancestor, terminal escapes and rich markup
in symbol/section names, paths and ``.config`` lines, Kconfig macro and continuation bombs,
DWARF sections (compressed, deeply nested, self-referencing siblings, odd forms), decompression
bombs, gzip FNAME scans, million-line configs, many null sections, and hostile numbers in
policies, baselines and command-line sizes.

Each generator is a pure function of an rng (and the seed corpus) returning a :class:`Plan`:
the command line (with run.py's placeholders), the main input's bytes, the scenario (``setup``,
interpreted by run.py's Runner) and the failure kinds the class shows on the unfixed code
(``expect``, used by ``run.py --self-test-classes``). The checks that judge the security
effects (marker files, JSON/XML parsing, victim files, raw ESC, the secret token) live in run.py.
"""

from __future__ import annotations

import functools
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mutators as M

# The environment variable every case gets (run.py sets it); a Kconfig tree that prints it
# leaks the environment (class 11). Its value is the token the leak check looks for.
SECRET_ENV = "CPUALLOC_FUZZ_SECRET"
SECRET_TOKEN = "s3cr3t-7f1c9e2a-token"
# The first line of the file outside the tree that a symlinked top Kconfig points at (class 3).
OUTSIDE_TOKEN = "outside-2b8d41-shadow"

# Terminal escapes and rich markup (class 6). Every one contains an ESC or is rich markup that
# crashes or restyles a rich renderer that does not escape.
ESCAPES = [b"\x1b[2J\x1b[H", b"\x1b]0;pwned\x07", b"\x1b[31mred", b"\x1b]8;;http://x/\x1b\\link",
           b"\x1bP+q\x1b\\"]
MARKUP = [b"[/]", b"[bold]", b"[/bold]", b"[link=http://x]", b"[red on blue]", b"[/][/]", b"[@click=quit]"]


@dataclass
class Plan:
    cls: str
    command: str
    kind: str                  # the main input's kind (run.py: the file extension and how it is written)
    data: bytes
    argv: list[str]
    notes: list[str]
    setup: dict[str, Any] = field(default_factory=dict)
    json_out: bool = False
    tree_file: str | None = None
    expect: tuple[str, ...] = ()   # failure kinds the unfixed code (f10b75d) shows for this plan


# --- zlib/gzip bombs, made cheaply -------------------------------------------------------------

_MIB = 1 << 20


@functools.lru_cache(maxsize=4)
def _zero_block() -> bytes:
    """A self-contained raw-deflate block sequence for 1 MiB of zeros, ending in a full flush
    (no history needed), so N copies decode to N MiB of zeros."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(b"\0" * _MIB) + c.flush(zlib.Z_FULL_FLUSH)


@functools.lru_cache(maxsize=8)
def _crc_of_zeros(mib: int) -> int:
    """crc32 of `mib` MiB of zeros: one MiB fed to zlib, the rest by crc32_combine (doubling)."""
    crc = 0
    part, part_mib = zlib.crc32(b"\0" * _MIB), 1  # the crc of part_mib MiB, doubled each round
    while mib:
        if mib & 1:
            crc = crc32_combine(crc, part, part_mib * _MIB)
        part = crc32_combine(part, part, part_mib * _MIB)
        part_mib *= 2
        mib >>= 1
    return crc


def _gf2_times(mat: list[int], vec: int) -> int:
    out = 0
    i = 0
    while vec:
        if vec & 1:
            out ^= mat[i]
        vec >>= 1
        i += 1
    return out


def _gf2_square(mat: list[int]) -> list[int]:
    return [_gf2_times(mat, mat[n]) for n in range(32)]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of A + B from crc32(A), crc32(B) and len(B): zlib's crc32_combine (crc32.c),
    without feeding B's bytes again."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # the operator for one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)  # the first square: one zero byte
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def deflate_bomb(head: bytes, mib: int) -> tuple[bytes, int]:
    """Raw deflate of `head` + `mib` MiB of zeros; returns (stream, decoded length)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)  # an empty final block
    return first + _zero_block() * mib + end, len(head) + mib * _MIB


def zlib_bomb(mib: int) -> bytes:
    """A zlib stream (header, deflate, Adler-32) of `mib` MiB of zeros."""
    body, n = deflate_bomb(b"", mib)
    adler = ((n % 65521) << 16) | 1  # Adler-32 of n zero bytes: a = 1, b = n mod 65521
    return b"\x78\xda" + body + struct.pack(">I", adler)


def gzip_bomb(head: bytes, mib: int, pad: int = 0) -> bytes:
    """A gzip member of `head` + `mib` MiB of zeros, with its real CRC and ISIZE, then `pad`
    zero bytes (kernel images carry padding; it also keeps the ratio under the ratio bound)."""
    body, n = deflate_bomb(head, mib)
    # crc of head + zeros, from the two parts' CRCs (zlib's crc32_combine)
    crc = crc32_combine(zlib.crc32(head), _crc_of_zeros(mib), mib * _MIB)
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03" + body + struct.pack("<II", crc, n & 0xFFFFFFFF)
            + b"\0" * pad)


# --- ELF surgery -------------------------------------------------------------------------------

SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_NOBITS, SHT_SYMTAB_SHNDX = 1, 2, 3, 8, 18
SHF_COMPRESSED = 0x800


@dataclass(frozen=True)
class NewSection:
    name: bytes
    sh_type: int = SHT_PROGBITS
    data: bytes = b""
    flags: int = 0
    addralign: int = 1


def append_sections(elf: bytes, new: list[NewSection], null_sections: int = 0) -> bytes:
    """The ELF with `new` sections (and `null_sections` SHT_NULL headers) added: their data and
    a new string table are appended, then a new section header table (the old headers, the
    new ones); e_shoff, e_shnum and e_shstrndx point at them. Program headers are kept."""
    lay = M.elf_layout(elf)
    assert lay is not None and lay.shentsize
    fmt = lay.fmt
    old_hdrs = elf[lay.shoff:lay.shoff + lay.shnum * lay.shentsize]
    hf = lay.header_fields
    off, w = hf["e_shstrndx"]
    old_strndx = M._get(elf, off, w, fmt)
    strtab_off = M._section_header(elf, lay, lay.shoff + old_strndx * lay.shentsize)
    old_names = elf[strtab_off["sh_offset"]:strtab_off["sh_offset"] + strtab_off["sh_size"]]
    out = bytearray(elf)
    placed: list[tuple[int, int, int, NewSection]] = []  # (name offset, data offset, size, section)
    names = bytearray(old_names)
    for s in new:
        name_off = len(names)
        names += s.name + b"\0"
        while len(out) % 8:
            out.append(0)
        placed.append((name_off, len(out), len(s.data), s))
        out += s.data
    shstr_name = len(names)
    names += b".shstrtab.fuzz\0"
    names_off = len(out)
    out += names
    while len(out) % 8:
        out.append(0)
    shoff = len(out)
    out += old_hdrs
    ent = lay.shentsize
    sf = lay.section_fields

    def header(name: int, sh_type: int, flags: int, offset: int, size: int, align: int) -> bytes:
        h = bytearray(ent)
        for key, value in (("sh_name", name), ("sh_type", sh_type), ("sh_flags", flags), ("sh_offset", offset),
                           ("sh_size", size), ("sh_addralign", align)):
            o, width = sf[key]
            M._put(h, o, width, value, fmt)
        return bytes(h)

    for name_off, data_off, size, s in placed:
        out += header(name_off, s.sh_type, s.flags, data_off, size, s.addralign)
    out += b"\0" * ent * null_sections
    strndx = lay.shnum + len(placed) + null_sections
    out += header(shstr_name, SHT_STRTAB, 0, names_off, len(names), 1)
    total = strndx + 1
    for key, value in (("e_shoff", shoff), ("e_shnum", total), ("e_shstrndx", strndx)):
        o, width = hf[key]
        M._put(out, o, width, value, fmt)
    return bytes(out)


def _patch_strings(elf: bytes, rng: random.Random, which: str, payloads: list[bytes]) -> tuple[bytes, str]:
    """Overwrite the start of some names in a string table (`which`: "symbols" for the symbol
    string tables, "sections" for the section-name table) with `payloads`, in place."""
    lay = M.elf_layout(elf)
    if lay is None:
        return elf, "not an ELF"
    hf = lay.header_fields
    o, w = hf["e_shstrndx"]
    shstrndx = M._get(elf, o, w, lay.fmt)
    secs = M._sections(lay)
    targets = []
    for i, off in enumerate(secs):
        h = M._section_header(elf, lay, off)
        if h["sh_type"] != SHT_STRTAB or h["sh_offset"] + h["sh_size"] > len(elf):
            continue
        if (which == "sections") == (i == shstrndx):
            targets.append(h)
    if not targets:
        return elf, "no string table"
    out = bytearray(elf)
    done = 0
    for h in targets:
        start, end = h["sh_offset"], h["sh_offset"] + h["sh_size"]
        # name starts: after each NUL, where the name is long enough for a payload
        starts = [i + 1 for i in range(start, end - 1) if out[i] == 0 and out[i + 1] != 0]
        rng.shuffle(starts)
        for s in starts[:64]:
            n = out.find(b"\0", s, end)
            if n < 0:
                continue
            payload = rng.choice(payloads)
            if n - s < len(payload) + 1:
                continue
            out[s:s + len(payload)] = payload
            done += 1
    return bytes(out), f"{done} {which} names start with escapes/markup"


# --- DWARF ----------------------------------------------------------------------------------

DW_TAG = {"compile_unit": 0x11, "variable": 0x34, "array_type": 0x01, "subrange_type": 0x21, "base_type": 0x24,
          "lexical_block": 0x0B}


def _uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _abbrev(code: int, tag: int, children: bool, attrs: list[tuple[int, int]]) -> bytes:
    out = _uleb(code) + _uleb(tag) + bytes([1 if children else 0])
    for at, form in attrs:
        out += _uleb(at) + _uleb(form)
    return out + b"\0\0"


def dwarf_sections(variant: str, rng: random.Random) -> tuple[bytes, bytes, str]:
    """(.debug_abbrev, .debug_info, description) for one hostile DWARF variant (DWARF 4, one
    CU): a variable whose type is a struct whose one member has children, so that walking the
    struct's children (as `scale` does for a type) meets the member's DW_AT_sibling:

    * ``plain``: a well-formed sibling; ``sibling-self``: the sibling is the member itself (a
      walk that trusts it never ends); ``sibling-form``: the sibling in a form pyelftools does
      not support (DW_FORM_data4 ...: NotImplementedError); ``deep``: no sibling, and the
      member's children nest thousands deep (a recursive walk runs out of stack)."""
    DW_AT_name, DW_AT_type, DW_AT_location, DW_AT_sibling, DW_AT_byte_size = 0x03, 0x49, 0x02, 0x01, 0x0B
    DW_FORM_string, DW_FORM_ref4, DW_FORM_exprloc, DW_FORM_data1 = 0x08, 0x13, 0x18, 0x0B
    sibling_form = DW_FORM_ref4
    what = variant
    if variant == "sibling-form":
        sibling_form = rng.choice([0x0B, 0x05, 0x06, 0x0F, 0x0D])  # data1, data2, data4, udata, sdata
        what += f" DW_FORM {sibling_form:#x}"
    member_attrs = [(DW_AT_type, DW_FORM_ref4)] + ([] if variant == "deep" else [(DW_AT_sibling, sibling_form)])
    abbrev = b"".join([
        _abbrev(1, DW_TAG["compile_unit"], True, [(DW_AT_name, DW_FORM_string)]),
        _abbrev(2, DW_TAG["variable"], False, [(DW_AT_name, DW_FORM_string), (DW_AT_type, DW_FORM_ref4),
                                               (DW_AT_location, DW_FORM_exprloc)]),
        _abbrev(5, DW_TAG["base_type"], False, [(DW_AT_byte_size, DW_FORM_data1)]),
        _abbrev(6, DW_TAG["lexical_block"], True, []),
        _abbrev(7, 0x13, True, [(DW_AT_byte_size, DW_FORM_data1)]),   # DW_TAG_structure_type
        _abbrev(8, 0x0D, True, member_attrs),                          # DW_TAG_member, with children
    ]) + b"\0"
    hdr_len = 11  # unit_length(4) version(2) abbrev_offset(4) address_size(1)
    body = bytearray(_uleb(1) + b"cu\0")
    base = hdr_len + len(body)
    body += _uleb(5) + b"\x08"                       # base_type, 8 bytes
    # the variable comes first (a forward reference), so its type is walked before the
    # CU's linear DIE walk has seen the struct's subtree
    var_at = len(body)
    body += _uleb(2) + b"percpu_thing\0" + b"\0\0\0\0" + b"\x01\x9c"
    struct_at = hdr_len + len(body)
    struct.pack_into("<I", body, var_at + 1 + len(b"percpu_thing\0"), struct_at)
    body += _uleb(7) + b"\x08"                       # struct, 8 bytes
    member_at = hdr_len + len(body)
    body += _uleb(8) + struct.pack("<I", base)
    sib_at = len(body)
    if variant != "deep":
        body += {0x0B: b"\x00", 0x05: b"\0\0", 0x06: b"\0" * 4, 0x0F: b"\x00", 0x0D: b"\x00"}.get(
            sibling_form, b"\0" * 4) if variant == "sibling-form" else b"\0" * 4
    if variant == "deep":
        depth = rng.choice([5000, 20000])
        body += _uleb(6) * depth + b"\0" * depth
        what += f" {depth} nested lexical blocks"
    body += b"\0"                                    # end of the member's children
    if variant == "sibling-self":
        struct.pack_into("<I", body, sib_at, member_at)
    elif variant == "plain":
        struct.pack_into("<I", body, sib_at, hdr_len + len(body))
    body += b"\0"                                    # end of the struct's children
    body += b"\0"                                    # end of the CU's children
    info = struct.pack("<IHIB", 7 + len(body), 4, 0, 8) + bytes(body)
    return abbrev, info, what


# --- the generators, one per class ---------------------------------------------------------------

Corpus = dict[str, list[Any]]  # kind -> [Seed] (run.py's Seed: kind, name, data, weight)


def _seed(corpus: Corpus, kind: str, rng: random.Random, name_has: str = "") -> Any:
    pool = [s for s in corpus.get(kind, []) if name_has in s.name] or corpus[kind]
    return rng.choice(pool)


def _elf64(corpus: Corpus, rng: random.Random) -> Any:
    pool = [s for s in corpus["elf"] if s.data[4:5] == b"\x02" and s.data[5:6] == b"\x01" and len(s.data) < 4 << 20
            and ("x86_64-smp" in s.name or "x86_64-up" in s.name or "aarch64-smp" in s.name)]
    return rng.choice(pool or corpus["elf"])


def gen_kconfig_macro(corpus: Corpus, rng: random.Random, variant: str | None = None) -> Plan:
    """Class 7, 9 (Kconfig part) and 11 (environment): macro bombs, line continuations,
    $(info) on stdout, $(SECRET) leaking, prepended to the bundled top-level Kconfig."""
    top = next(s for s in corpus["kconfig"] if s.name == "Kconfig")
    variant = variant or rng.choice(["continuation", "recursive", "fan-out", "doubling", "info", "env-leak", "env-leak"])
    expect: tuple[str, ...]
    fmt_json = False
    if variant == "continuation":
        n = rng.choice([300000, 400000])  # kconfiglib joins them quadratically: 100000 lines took 3 s (so >= 27 s)
        prefix = b"config FUZZ_CONT\n\tbool \"" + b"x \\\n" * n + b"x\"\n"
        expect = ("timeout", "memory")
    elif variant == "recursive":
        # a function calling itself with a doubling argument: kconfiglib's recursion check
        # (a plain `A = $(A)` is caught) only trips after the arguments have exploded
        prefix = rng.choice([b"F = $(F,$(1)$(1))\nX := $(F,x)\n", b"F = $(F,$(1)$(1)$(1))\nX := $(F,xy)\n"])
        expect = ("timeout", "memory", "escape")
    elif variant == "fan-out":
        width = rng.choice([10, 16])
        lines = [b"A0 = xxxxxxxxxxxxxxxx"]
        for i in range(1, 9):
            lines.append(b"A%d = " % i + b"".join(b"$(A%d)" % (i - 1) for _ in range(width)))
        prefix = b"\n".join(lines) + b"\nX := $(A8)\n"
        expect = ("timeout", "memory")
    elif variant == "doubling":
        lines = [b"X := xxxxxxxx"] + [b"X := $(X)$(X)"] * rng.choice([34, 40])
        prefix = b"\n".join(lines) + b"\n"
        expect = ("timeout", "memory")
    elif variant == "info":
        prefix = rng.choice([b"$(info,{\"not\": json)\n", b"$(info,hello from the tree)\n",
                             b"$(warning-if,y,note)\n$(info,x)\n"])
        fmt_json = True
        expect = ("bad-json",)
    else:
        prefix = rng.choice([
            b"$(info,$(" + SECRET_ENV.encode() + b"))\n",
            b"config FUZZ_LEAK\n\tstring \"leak\"\n\tdefault \"$(" + SECRET_ENV.encode() + b")\"\n",
            b"$(error-if,y,$(" + SECRET_ENV.encode() + b"))\n",
            b"$(warning-if,y,$(" + SECRET_ENV.encode() + b"))\n",
        ])
        expect = ("env-leak",)
    command = rng.choice(["config", "check"]) if variant not in ("info",) else "config"
    argv = [command, "--srctree", "{tree}", "--arch", "sparc64", "--config", "{good}"]
    if variant == "env-leak" and command == "config":
        argv += ["--show", "FUZZ_LEAK"]
    if fmt_json or rng.random() < 0.4:
        argv += ["--format", "json"]
        fmt_json = True
    return Plan("kconfig-macro", command, "kconfig", prefix + top.data, argv, [f"kconfig {variant}"],
                json_out=fmt_json, tree_file="Kconfig", expect=expect)


def gen_kconfig_tree(corpus: Corpus, rng: random.Random, variant: str | None = None) -> Plan:
    """Classes 1, 2, 3, 9 (FIFO in the tree) and 11 (glob staleness): situations around a
    --srctree, judged by marker files, the outside token, and a cold-cache re-run."""
    top = next(s for s in corpus["kconfig"] if s.name == "Kconfig")
    variant = variant or rng.choice(["kconfigfunctions", "cache-poison", "top-symlink", "fifo", "glob-stale",
                          "cache-poison-bundled"])
    setup: dict[str, Any] = {}
    data = top.data
    expect: tuple[str, ...]
    command = rng.choice(["config", "check"])
    if variant == "kconfigfunctions":
        setup["plant_kconfigfunctions"] = True
        expect = ("code-exec",)
    elif variant in ("cache-poison", "cache-poison-bundled"):
        setup["poison_cache"] = True
        expect = ("code-exec",)
    elif variant == "top-symlink":
        setup["top_symlink_out"] = True
        expect = ("outside-read",)
    elif variant == "fifo":
        name = rng.choice(["Kconfig.fifo", "sub/Kconfig"])
        setup["fifo"] = [f"tree/{name}"]
        data = f'source "{name}"\n'.encode() + data
        expect = ("timeout",)
    else:
        setup["glob_stale"] = {"sub/a.Kconfig": "config FUZZ_GLOB_A\n\tbool \"a\"\n",
                               "sub/b.Kconfig": "config\n\tbroken ((( \"\n"}
        data = b'source "sub/*.Kconfig"\n' + data
        expect = ("stale-cache",)
    if variant == "cache-poison-bundled":
        argv = [command, "--arch", "sparc64", "--config", "{good}"]
    else:
        argv = [command, "--srctree", "{tree}", "--arch", "sparc64", "--config", "{good}"]
    return Plan("kconfig-tree", command, "kconfig", data, argv, [f"tree {variant}"], setup=setup,
                tree_file="Kconfig", expect=expect)


HUGE = b"9" * 5000


def gen_numbers(corpus: Corpus, rng: random.Random, variant: str | None = None) -> Plan:
    """Class 10 (numbers): inf, nan, 5,000-digit integers in a policy, a baseline or a
    command-line size."""
    where = variant or rng.choice(["policy", "policy", "baseline", "baseline", "option", "policy-digits",
                                   "baseline-inf", "option-budget"])
    focus = where.partition("-")[2]
    where = where.partition("-")[0]
    bad_toml = [b"inf", b"nan", b"-inf", b"+inf", HUGE, b"-" + HUGE, b"1e400", b"\"inf\"", b"\"nan\"",
                b"\"" + HUGE + b"\"", b"\"" + HUGE + b"KiB\"", b"\"1e999MiB\"", b"\"infMiB\"", b"\"nanKiB\"",
                b"\"+inf%\"", b"\"+nan%\"", b"\"+" + HUGE + b"%\"", b"\"+1e999%\"", b"0", b"\"0B\"",
                b"\"-0\""]
    if where == "policy":
        seed = _seed(corpus, "policy", rng)
        lines = seed.data.split(b"\n")
        keys = [i for i, ln in enumerate(lines) if b" = " in ln and not ln.startswith((b"#", b"id", b"rule"))]
        k = rng.choice(keys)
        key = lines[k].split(b" = ", 1)[0]
        val = HUGE if focus == "digits" else rng.choice(bad_toml)
        lines[k] = key + b" = " + val
        fmt = rng.choice(["text", "json", "junit"])
        argv = ["check", "--config", "{good}", "--policy", "{in}", "--format", fmt]
        return Plan("numbers", "check", "policy", b"\n".join(lines), argv,
                    [f"policy {key.decode()} = {val[:24].decode(errors='replace')}"], json_out=fmt == "json",
                    expect=("escape",))
    if where == "baseline":
        seed = _seed(corpus, "baseline", rng)
        text = seed.data
        measure = rng.choice([b"bss", b"image_extent", b"total", b"data", b"text", b"cpu_area"])
        val = rng.choice([b"1e999", b"-1e999", b"NaN", b"Infinity", b"-Infinity", HUGE, b"0", b"-1", b"1.5",
                          b"1e308", b"\"" + HUGE + b"\""])
        if focus == "inf":
            val = rng.choice([b"1e999", b"-1e999", b"Infinity", b"-Infinity"])
            measure = b"bss"
        import re

        text = re.sub(rb'"' + measure + rb'": -?\d+', b'"' + measure + b'": ' + val, text)
        budget = rng.choice(["bss=+1%", "image_extent=+64KiB", "total=+0%", f"{measure.decode()}=+1%"])
        if focus == "inf":
            budget = "bss=+1%"
        fmt = rng.choice(["text", "json", "junit", "sarif"])
        argv = ["check", "--config", "{good}", "--baseline", "{in}", "--budget", budget, "--format", fmt]
        return Plan("numbers", "check", "baseline", text, argv,
                    [f"baseline {measure.decode()}: {val[:24].decode(errors='replace')}"],
                    json_out=fmt in ("json", "sarif"), expect=("escape",))
    big = HUGE.decode()
    which = "budget" if focus == "budget" else rng.choice(["crashkernel", "load-window", "budget", "max-size", "limit"])
    if which == "max-size":
        seed = _seed(corpus, "compressed", rng, "payload.elf.gz")
        opt = ["extract", "{in}", "-o", "{out}", "--max-size", rng.choice(["inf", "nan", big, big + "KiB", "1e999"])]
        kind = "compressed"
    elif which == "limit":
        seed = _elf64(corpus, rng)
        opt = ["scale", "{in}@64", "{in}@128", "--limit", rng.choice([f"image_extent={big}", "bss=inf", "bss=nan"])]
        kind = "elf"
    else:
        seed = _seed(corpus, "baseline", rng)
        kind = "baseline"
        value = {"crashkernel": ["inf", "nan", big, big + "KiB", "1e999M"],
                 "load-window": ["inf", "nan", big, big + "GiB"],
                 "budget": ["bss=+inf%", "bss=+nan%", f"bss=+{big}%", f"bss={big}", "bss=+1e999%"]}[which]
        if focus == "budget":
            value = ["bss=+inf%", f"bss=+{big}%"]
        opt = ["check", "--config", "{good}", "--baseline", "{in}", f"--{which}", rng.choice(value)]
        if which != "budget":
            opt += ["--budget", "bss=+1%"]
    return Plan("numbers", opt[0], kind, seed.data, opt, [f"option --{which} {opt[opt.index('--' + which) + 1][:30]}"],
                expect=("escape",))


def gen_markup(corpus: Corpus, rng: random.Random, variant: str | None = None) -> Plan:
    """Class 6 (and 11's control characters in JUnit): terminal escapes and rich markup in ELF
    symbol and section names, .config lines, input paths and policy strings."""
    variant = variant or rng.choice(["symbols", "sections", "config", "path", "policy"])
    payloads = ESCAPES + MARKUP
    if variant in ("symbols", "sections"):
        seed = _elf64(corpus, rng)
        data, what = _patch_strings(seed.data, rng, variant, payloads)
        extra = rng.choice([["--symbols"], ["--top", "20"], [], ["--section", ".data..percpu"]])
        if rng.random() < 0.3:
            return Plan("markup", "diff", "elf", data, ["diff", "{orig}", "{in}"], [what], expect=("escape",
                        "raw-escape"))
        return Plan("markup", "inspect", "elf", data, ["inspect", "{in}", *extra], [what],
                    expect=("escape", "raw-escape"))
    if variant == "config":
        seed = _seed(corpus, "config", rng, "samples/")
        lines = seed.data.split(b"\n")
        p = rng.choice(payloads)
        new = rng.choice([b"CONFIG_" + p + b"=y", b"CONFIG_NR_CPUS=64" + p, b"CONFIG_LOCALVERSION=\"" + p + b"\"",
                          b"CONFIG_X" + p + b"Y=m", p, b"CONFIG_NR_CPUS=" + p])
        lines.insert(rng.randrange(len(lines) + 1), new)
        command = rng.choice(["config", "check"])
        argv = [command, "--config", "{in}"]
        if command == "check":
            argv += ["--format", rng.choice(["text", "junit", "markdown", "github"])]
        return Plan("markup", command, "config", b"\n".join(lines), argv, [f"config line {new[:40]!r}"],
                    expect=("escape", "raw-escape", "bad-xml"))
    if variant == "path":
        name = rng.choice(payloads).decode() + "x" + rng.choice(payloads).decode()
        kind = rng.choice(["elf", "config"])
        if kind == "elf":
            seed = _elf64(corpus, rng)
            data = seed.data if rng.random() < 0.5 else seed.data[:100]  # a report, or an error naming it
            argv = ["inspect", "{in}"]
        else:
            seed = _seed(corpus, "config", rng, "samples/")
            data = seed.data if rng.random() < 0.5 else seed.data + b"\nCONFIG_NR_CPUS=\x00\n"
            argv = [rng.choice(["config", "check"]), "--config", "{in}"]
        return Plan("markup", argv[0], kind, data, argv, [f"input named {name!r}"], setup={"input_name": name},
                    expect=("escape", "raw-escape"))
    seed = _seed(corpus, "policy", rng)
    ctl = rng.choice(["\\u001b[2J", "\\u0001", "\\u0008", "\\u001b]0;t\\u0007", "\\u000c", "\\u001f", "\\u0000"])
    if rng.random() < 0.3:
        ctl += rng.choice(MARKUP).decode()
    data = seed.data
    for old, key in ((b'"fuzz seed: sparc64 image under 8 MiB"', b"title"), (b'"a seed limit for the fuzzer"', b"note"),
                     (b'sources = ["fuzz seed"]', b"sources"), (b'"seed waiver for the fuzzer"', b"reason")):
        if key == b"sources":
            data = data.replace(old, b'sources = ["' + ctl.encode() + b'"]', 1)
        else:
            data = data.replace(old, b'"x ' + ctl.encode() + b'"', 1)
    fmt = rng.choice(["junit", "junit", "text", "markdown", "github"])
    return Plan("markup", "check", "policy", data, ["check", "--config", "{good}", "--policy", "{in}", "--format", fmt],
                [f"policy strings with {ctl}"], expect=("bad-xml", "raw-escape", "escape"))


def gen_output_path(corpus: Corpus, rng: random.Random, variant: str | None = None) -> Plan:
    """Class 4: -o through a planted symlink (to a victim outside the case's work folder, or
    dangling), into a FIFO, a directory, a missing directory, a device; an empty name."""
    kind = variant or rng.choice(["symlink", "symlink", "dangling", "fifo", "directory", "missing-dir", "device", "empty"])
    which = rng.choice(["inspect", "extract", "check", "config"])
    if which == "inspect":
        seed = _elf64(corpus, rng)
        argv, k, data = ["inspect", "{in}", "-o", "{out}"], "elf", seed.data
    elif which == "extract":
        seed = _seed(corpus, "compressed", rng, "payload.elf.gz")
        argv, k, data = ["extract", "{in}", "-o", "{out}"], "compressed", seed.data
    elif which == "check":
        seed = _seed(corpus, "config", rng, "samples/")
        argv, k, data = ["check", "--config", "{in}", "-o", "{out}"], "config", seed.data
    else:
        seed = _seed(corpus, "config", rng, "samples/")
        argv, k, data = ["config", "--config", "{in}", "-o", "{out}"], "config", seed.data
    expect = {"symlink": ("victim-changed",), "dangling": ("victim-changed", "wrote-outside"), "fifo": ("timeout",),
              "device": (), "directory": ("out-not-refused",), "missing-dir": (),
              "empty": ("message", "out-not-refused")}[kind]
    return Plan("output-path", which, k, data, argv, [f"-o is a {kind}"], setup={"out_kind": kind}, expect=expect)


def gen_nonregular(corpus: Corpus, rng: random.Random, variant: str | None = None) -> Plan:
    """Classes 8/9: a FIFO or /dev/zero as an input (an image, a .config, a policy, a baseline)."""
    kind = variant or rng.choice(["fifo", "fifo", "devzero", "devzero"])
    role = rng.choice(["image", "extract", "config", "policy", "baseline"])
    if role == "image":
        argv = ["inspect", "{in}"]
        k = "elf"
    elif role == "extract":
        argv = ["extract", "{in}", "-o", "{out}"]
        k = "compressed"
    elif role == "config":
        argv = [rng.choice(["config", "check"]), "--config", "{in}"]
        k = "config"
    elif role == "policy":
        argv = ["check", "--config", "{good}", "--policy", "{in}"]
        k = "policy"
    else:
        argv = ["check", "--config", "{good}", "--baseline", "{in}", "--budget", "bss=+1%"]
        k = "baseline"
    expect = ("timeout",) if kind == "fifo" else ("memory", "timeout", "escape")
    if kind == "devzero" and role in ("config", "policy", "baseline"):
        expect = ("memory", "timeout", "escape", "message")
    return Plan("nonregular", argv[0], k, b"", argv, [f"{role} input is {kind}"], setup={"input_kind": kind},
                expect=expect)


def gen_bombs(corpus: Corpus, rng: random.Random, variant: str | None = None) -> Plan:
    """Classes 8/9 (ELF, gzip, .config): a gzip of ~1 GiB whose payload starts like an ELF, a
    gzip FNAME with no end, a million-line .config, an ELF with many null sections."""
    variant = variant or rng.choice(["gzip-elf", "gzip-fname", "million-lines", "null-sections"])
    if variant == "gzip-elf":
        seed = _elf64(corpus, rng)
        mib = rng.choice([900, 1000])
        data = gzip_bomb(seed.data[:4096], mib, pad=200_000)
        command = rng.choice(["inspect", "extract"])
        argv = ["inspect", "{in}"] if command == "inspect" else ["extract", "{in}", "-o", "{out}"]
        return Plan("bombs", command, "compressed", data, argv, [f"gzip of {mib} MiB starting like an ELF"],
                    expect=("memory", "escape", "signal", "timeout"))
    if variant == "gzip-fname":
        # many gzip headers with FNAME set and no NUL anywhere (MTIME 0x01010101): every one is
        # a candidate stream whose name runs to the end of the file. The unfixed code's cost grows
        # with the length, not the header count (900 headers: 16 MiB 4.8 s, 48 MiB 12.9 s, 96 MiB
        # 28.5 s on an idle 2-core machine; the fixed code 0.7-1.2 s): 80-96 MiB keeps the unfixed
        # code past the 5 s bound even on a machine three times faster than that one.
        n = rng.choice([80 << 20, 96 << 20])
        data = b"\x1f\x8b\x08\x08\x01\x01\x01\x01\x02\x03" * 900 + b"A" * n
        command = rng.choice(["inspect", "extract"])
        argv = ["inspect", "{in}"] if command == "inspect" else ["extract", "{in}", "-o", "{out}"]
        return Plan("bombs", command, "compressed", data, argv, [f"gzip FNAME of {n} bytes, no NUL"],
                    expect=("timeout",))
    if variant == "million-lines":
        line = rng.choice([b"# CONFIG_FUZZ_X is not set", b"CONFIG_NR_CPUS=64", b"#", b"CONFIG_FUZZ_UNKNOWN=y"])
        data = (line + b"\n") * 1_000_000
        command = rng.choice(["config", "check"])
        return Plan("bombs", command, "config", data, [command, "--config", "{in}"],
                    [f"1,000,000 lines of {line!r}"], expect=("timeout", "memory"))
    seed = _elf64(corpus, rng)
    n = rng.choice([60000, 65000])
    data = append_sections(seed.data, [], null_sections=n)
    return Plan("bombs", "inspect", "elf", data, ["inspect", "{in}", *rng.choice([[], ["--symbols"]])],
                [f"{n} null sections"], expect=("timeout",))


def gen_dwarf(corpus: Corpus, rng: random.Random, variant: str | None = None) -> Plan:
    """Classes 8/9/10 (DWARF, read by `scale`): .zdebug_* and SHF_COMPRESSED bombs, deep
    nesting, a sibling pointing at itself, an unsupported sibling form."""
    seed = _elf64(corpus, rng)
    variant = variant or rng.choice(["zdebug", "shf-compressed", "deep", "sibling-self", "sibling-form"])
    if variant in ("zdebug", "shf-compressed"):
        abbrev, info, _ = dwarf_sections("plain", rng)
        mib = rng.choice([600, 1000])
        bomb = zlib_bomb(mib)
        if variant == "zdebug":
            secs = [NewSection(b".debug_info", data=info), NewSection(b".debug_abbrev", data=abbrev),
                    NewSection(b".zdebug_info", data=b"ZLIB" + struct.pack(">Q", mib * _MIB) + bomb),
                    NewSection(b".zdebug_abbrev", data=b"ZLIB" + struct.pack(">Q", len(abbrev)) + zlib.compress(abbrev))]
        else:
            chdr = struct.pack("<IIQQ", 1, 0, mib * _MIB, 1)  # Elf64_Chdr: ELFCOMPRESS_ZLIB, size, align
            secs = [NewSection(b".debug_info", data=chdr + bomb, flags=SHF_COMPRESSED, addralign=8),
                    NewSection(b".debug_abbrev", data=abbrev)]
        what = f"{variant} .debug_info of {mib} MiB"
        expect: tuple[str, ...] = ("memory", "escape", "timeout", "signal")
    else:
        abbrev, info, what = dwarf_sections(variant, rng)
        secs = [NewSection(b".debug_info", data=info), NewSection(b".debug_abbrev", data=abbrev)]
        expect = ("timeout", "memory") if variant == "sibling-self" else ("escape",)
    data = append_sections(seed.data, secs)
    argv = ["scale", "{in}@64", "{in}@128", *rng.choice([[], ["--format", "json"]])]
    return Plan("dwarf", "scale", "elf", data, argv, [what], json_out="json" in argv, expect=expect)


def gen_planted_policy(corpus: Corpus, rng: random.Random, variant: str | None = None) -> Plan:
    """Class 5: a cpualloc.toml or pyproject.toml planted in a world-writable ancestor of the
    working directory (as in /tmp). `check` without --policy must not use it."""
    variant = variant or rng.choice(["cpualloc.toml", "pyproject.toml"])
    body = 'fail_on = "planted-policy-9d3e"\n'
    if variant == "pyproject.toml":
        body = "[tool.cpualloc]\n" + body
    seed = _seed(corpus, "config", rng, "samples/")
    fmt = rng.choice(["text", "json"])
    return Plan("planted-policy", "check", "config", seed.data, ["check", "--config", "{in}", "--format", fmt],
                [f"planted {variant} in a world-writable ancestor"], setup={"plant_policy": [variant, body]},
                json_out=fmt == "json", expect=("planted-policy",))


def gen_kallsyms(corpus: Corpus, rng: random.Random, variant: str | None = None) -> Plan:
    """Issue 16 item 4: a kernel whose only symbols are kallsyms (the stripped vmlinux inside a
    real bzImage, tests/fixtures/kallsyms/images/), one table corrupted where find_kallsyms found
    it (mutators.kallsyms_table): token index out of range, tokens without NULs or as long as the
    table allows, names that expand far, markers that disagree, a huge num_syms, unsorted or
    out-of-range addresses, seqs_of_names that is no permutation, the tables cut short. Read as
    a standalone gzip stream of it (3 in 4) or as the ELF itself; `inspect --symbols`, or `diff` against the
    undamaged kernel. The outcome must be exit 3 naming the file (or no kallsyms: section totals),
    within the bounds."""
    pool = corpus.get("kallsyms") or corpus["elf"]
    seed = rng.choice(pool)
    variant = variant or rng.choice(M.KALLSYMS_CORRUPTIONS)
    data, what = M.kallsyms_table(seed.data, rng, variant)
    kind = "elf"
    # mostly as a compressed payload (read from memory): the commands read kallsyms from a
    # compressed image's payload; a bare ELF without .symtab is for when they read it there too
    if rng.random() < 0.75:
        import gzip

        data = gzip.compress(data, 1, mtime=0)  # gzip -1: xz of 2 MB costs 0.5 s a case to make
        kind = "compressed"
        what += " (as a gzip stream)"
    fmt = rng.choice([[], ["--format", "json"]])
    if rng.random() < 0.2:
        argv = ["diff", "{orig}", "{in}", *fmt]
    else:
        argv = ["inspect", "{in}", "--symbols", *fmt]
    # no run of f10b75d can show this class (that code has no kallsyms reader): --self-test-classes
    # leaves it out (SINCE_UNFIXED). Before 46a1942 the damaged tables took 4-15 s (timeout).
    return Plan("kallsyms", argv[0], kind, data, argv, [seed.name, what], json_out=bool(fmt),
                expect=("timeout", "escape", "traceback", "message"))


GENERATORS: dict[str, Callable[[Corpus, random.Random, str | None], Plan]] = {
    "kconfig-macro": gen_kconfig_macro,
    "kconfig-tree": gen_kconfig_tree,
    "numbers": gen_numbers,
    "markup": gen_markup,
    "output-path": gen_output_path,
    "nonregular": gen_nonregular,
    "bombs": gen_bombs,
    "dwarf": gen_dwarf,
    "planted-policy": gen_planted_policy,
}

# The distinct variants of each generator (the self-test runs each one on the unfixed code).
VARIANTS: dict[str, tuple[str, ...]] = {
    "kconfig-macro": ("continuation", "recursive", "fan-out", "doubling", "info", "env-leak"),
    "kconfig-tree": ("kconfigfunctions", "cache-poison", "cache-poison-bundled", "top-symlink", "fifo", "glob-stale"),
    "numbers": ("policy-digits", "baseline-inf", "option-budget"),
    "markup": ("symbols", "sections", "config", "path", "policy"),
    "output-path": ("symlink", "dangling", "fifo", "directory", "empty"),
    "nonregular": ("fifo", "devzero"),
    "bombs": ("gzip-elf", "gzip-fname", "million-lines", "null-sections"),
    "dwarf": ("zdebug", "shf-compressed", "deep", "sibling-self", "sibling-form"),
    "planted-policy": ("cpualloc.toml", "pyproject.toml"),
}


def poison_pickle(marker: str) -> bytes:
    """A pickle (protocol 0, written by hand) that creates `marker` when loaded: what an
    attacker with one file in the cache directory writes."""
    return b"cbuiltins\nopen\n(V" + marker.encode("raw_unicode_escape") + b"\nVw\ntR."


KCONFIGFUNCTIONS_PY = """# planted by the fuzzer: importing this module is code execution from the working directory
open({marker!r}, "w").write("imported")
functions = {{}}
"""


def many_sections_elf(count: int, targets: tuple[int, ...]) -> tuple[bytes, dict[str, str]]:
    """An x86_64 relocatable object with `count` section headers (past SHN_LORESERVE, so with
    extended numbering: e_shnum 0 and e_shstrndx SHN_XINDEX, the real values in section 0), one
    8-byte writable data section at each index of `targets`, and a global object symbol in each
    (st_shndx SHN_XINDEX, the index in .symtab_shndx). Returns (bytes, {symbol: nm letter}):
    GNU nm prints 'D' for a global in a writable allocated PROGBITS section, whatever its index
    (binutils bfd/elf.c: indices from SHT_SYMTAB_SHNDX are section indices, never ABS/COMMON)."""
    shnum = count
    symtab_i, strtab_i, shndx_i, shstr_i = count - 4, count - 3, count - 2, count - 1
    names = bytearray(b"\0.fz\0.data.fz\0.symtab\0.strtab\0.symtab_shndx\0.shstrtab\0")
    n_fz, n_data, n_symtab, n_strtab, n_shndx, n_shstr = 1, 5, 14, 22, 30, 44
    strtab = bytearray(b"\0")
    syms = bytearray(24)                 # the null symbol
    shndx = bytearray(4)
    expect: dict[str, str] = {}
    for t in targets:
        name = f"fuzz_sym_{t}"
        off = len(strtab)
        strtab += name.encode() + b"\0"
        syms += struct.pack("<IBBHQQ", off, 0x11, 0, 0xFFFF, 0, 8)   # GLOBAL OBJECT, SHN_XINDEX
        shndx += struct.pack("<I", t)
        expect[name] = "D"
    data_off = 64
    blob = bytearray(64)                 # the ELF header, filled in below
    sec_data = {t: len(blob) + i * 8 for i, t in enumerate(targets)}
    blob += b"\x2a" * 8 * len(targets)
    symtab_off = len(blob)
    blob += syms
    strtab_off = len(blob)
    blob += strtab
    shndx_off = len(blob)
    blob += shndx
    shstr_off = len(blob)
    blob += names
    while len(blob) % 8:
        blob.append(0)
    shoff = len(blob)
    del data_off

    def sh(name: int, typ: int, flags: int, off: int, size: int, link: int = 0, info: int = 0, align: int = 1,
           ent: int = 0) -> bytes:
        return struct.pack("<IIQQQQIIQQ", name, typ, flags, 0, off, size, link, info, align, ent)

    hdrs = bytearray(sh(0, 0, 0, 0, shnum, link=shstr_i))   # extended numbering lives in section 0
    filler = sh(n_fz, SHT_PROGBITS, 0, 0, 0)
    for i in range(1, count):
        if i in sec_data:
            hdrs += sh(n_data, SHT_PROGBITS, 0x3, sec_data[i], 8, align=8)     # SHF_WRITE|SHF_ALLOC
        elif i == symtab_i:
            hdrs += sh(n_symtab, SHT_SYMTAB, 0, symtab_off, len(syms), link=strtab_i, info=1, align=8, ent=24)
        elif i == strtab_i:
            hdrs += sh(n_strtab, SHT_STRTAB, 0, strtab_off, len(strtab))
        elif i == shndx_i:
            hdrs += sh(n_shndx, SHT_SYMTAB_SHNDX, 0, shndx_off, len(shndx), link=symtab_i, align=4, ent=4)
        elif i == shstr_i:
            hdrs += sh(n_shstr, SHT_STRTAB, 0, shstr_off, len(names))
        else:
            hdrs += filler
    blob += hdrs
    ident = b"\x7fELF\x02\x01\x01" + b"\0" * 9
    struct.pack_into("<16sHHIQQQIHHHHHH", blob, 0, ident, 1, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, 0, 0xFFFF)
    return bytes(blob), expect


def gen_many_sections(corpus: Corpus, rng: random.Random, variant: str | None = None) -> Plan:
    """Class 12: more than 65,280 sections, symbols in sections whose indices collide with the
    reserved ones (SHN_ABS 65521, SHN_COMMON 65522, ...): `inspect --symbols` must give nm's
    letters (the harness compares them: nm-mismatch)."""
    variant = variant or rng.choice(["reserved", "reserved", "around"])
    targets = (65521, 65522) if variant == "reserved" else tuple(sorted(rng.sample(
        [65280, 65281, 65519, 65520, 65521, 65522, 65523, 65535, 65536, 65537], 4)))
    data, expect = many_sections_elf(max(targets) + 8, targets)
    return Plan("many-sections", "inspect", "elf", data, ["inspect", "{in}", "--symbols", "--format", "json"],
                [f"{max(targets) + 8} sections, symbols in {list(targets)}"], setup={"expect_symbols": expect},
                json_out=True, expect=("nm-mismatch", "timeout"))  # f10b75d: 65k sections took > 5 s


GENERATORS["many-sections"] = gen_many_sections
VARIANTS["many-sections"] = ("reserved",)
GENERATORS["kallsyms"] = gen_kallsyms
VARIANTS["kallsyms"] = M.KALLSYMS_CORRUPTIONS
# Classes that attack code the unfixed commit of --self-test-classes (run.py UNFIXED_COMMIT) does
# not have: that self-test cannot show them, so it leaves them out; --variants runs them.
SINCE_UNFIXED = frozenset({"kallsyms"})
