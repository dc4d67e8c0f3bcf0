"""The shared vocabulary of measures and the size syntax used by --limit, --budget,
policy files and JSON keys (PRODUCT.md, "Measures and units")."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction


class Measure(StrEnum):
    IMAGE_EXTENT = "image_extent"
    TEXT = "text"
    DATA = "data"
    BSS = "bss"
    TOTAL = "total"
    PERCPU_STATIC = "percpu_static"
    PERCPU_UNIT = "percpu_unit"
    PERCPU_RESIDENT = "percpu_resident"
    CPU_AREA = "cpu_area"
    ADDRESS_SPACE = "address_space"
    VMALLOC_SHARE = "vmalloc_share"
    COMPRESSED_SIZE = "compressed_size"
    # Boot-loader and placement measures (issue 13): read from a boot image's header or given.
    DECOMPRESSED_SIZE = "decompressed_size"  # what the boot loader decompresses (U-Boot bootm: a uImage)
    IMAGE_SIZE = "image_size"  # arm64 Image header image_size (BSS included)
    INIT_SIZE = "init_size"  # x86 bzImage setup header init_size
    DTB_SIZE = "dtb_size"  # the flattened device tree's totalsize
    STACK_CPUMASK_BYTES = "stack_cpumask_bytes"  # sizeof(cpumask_t) = BITS_TO_LONGS(NR_CPUS) longs
    PARTITION_BLOCKS = "partition_blocks"  # the image rounded up to whole erase blocks, in bytes
    # Boot memory (issue 15): from the boot memory model (analysis/bootmem.py) at --memory.
    MEMORY_RESERVED = "memory_reserved"  # what the boot reserves from RAM (the Memory: line's reserved)
    KDUMP_RESERVED = "kdump_reserved"  # the capture kernel's own boot reservation (image, initrd, memmap,
    # percpu, hashes) when booted inside the crashkernel= reservation


# vmalloc_share is a fraction, everything else is bytes.
FRACTION_MEASURES = frozenset({Measure.VMALLOC_SHARE})

_UNITS = {
    "": 1, "b": 1,
    "k": 1 << 10, "kib": 1 << 10,
    "m": 1 << 20, "mib": 1 << 20,
    "g": 1 << 30, "gib": 1 << 30,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$", re.ASCII)

# Bounds on every number cpualloc parses (issue 17, class 10): no size is more than 2^63 bytes,
# no size or percentage text longer than MAX_NUMBER_CHARS (a 5,000-digit integer is refused
# before int() or float() sees it), and no percentage is infinite, NaN, negative or absurd.
MAX_SIZE_BYTES = 1 << 63
MAX_NUMBER_CHARS = 64
MAX_PERCENT = 1_000_000.0  # a budget of +1,000,000% (10,000x growth) is already no budget


def _shown(text: str) -> str:
    """`text` for an error message: repr, cut to a readable length."""
    return repr(text) if len(text) <= 40 else repr(text[:32]) + f"... ({len(text)} characters)"


def parse_measure(text: str) -> Measure:
    try:
        return Measure(text.strip())
    except ValueError:
        known = ", ".join(m.value for m in Measure)
        raise ValueError(f"unknown measure {_shown(text)} (known: {known})") from None


def check_number(value: object) -> float:
    """An int or float read from a file (TOML, JSON) as a finite, non-negative float of at most
    2^63. ValueError (the caller names the key) for booleans, non-numbers, inf, nan, negatives
    and huge values; a 5,000-digit integer is compared, never converted or printed."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    if value > MAX_SIZE_BYTES:
        raise ValueError("larger than 2^63")
    if value < 0:
        raise ValueError("negative" if isinstance(value, int) and value < -MAX_SIZE_BYTES else f"{value} is negative")
    return float(value)


def parse_size(text: str) -> int:
    """`8MiB`, `8M`, `512 KiB`, `4096`, `0x800000` -> bytes. Binary units only; `MB` is refused
    as ambiguous rather than guessed. At most 2^63 bytes and MAX_NUMBER_CHARS characters."""
    t = text.strip()
    if len(t) > MAX_NUMBER_CHARS:
        raise ValueError(f"size {_shown(t)} is too long (at most {MAX_NUMBER_CHARS} characters)")
    if t.lower().startswith("0x"):
        if not re.fullmatch(r"0[xX][0-9A-Fa-f]+", t):
            raise ValueError(f"bad size {_shown(text)}")
        return _in_range(int(t, 16), text)
    m = _SIZE_RE.match(t)
    if not m:
        raise ValueError(f"bad size {_shown(text)} (use e.g. 8MiB, 512KiB, 4096B)")
    number, unit = m.group(1), m.group(2).lower()
    if unit not in _UNITS:
        raise ValueError(f"unknown unit {m.group(2)!r} in {_shown(text)} (use B, KiB, MiB, GiB or K, M, G)")
    scale = _UNITS[unit]
    if "." in number:
        value = Fraction(number) * scale  # exact: no float rounding, no infinity
        if value.denominator != 1:
            raise ValueError(f"size {_shown(text)} is not a whole number of bytes")
        return _in_range(int(value), text)
    return _in_range(int(number) * scale, text)


def _in_range(value: int, text: str) -> int:
    if value > MAX_SIZE_BYTES:
        raise ValueError(f"size {_shown(text)} is larger than 2^63 bytes")
    return value


def parse_percent(text: str) -> float:
    """`1.5` (the part before `%`) -> 1.5: finite, in 0 .. MAX_PERCENT, at most MAX_NUMBER_CHARS."""
    t = text.strip()
    if len(t) > MAX_NUMBER_CHARS:
        raise ValueError(f"percentage {_shown(t)} is too long (at most {MAX_NUMBER_CHARS} characters)")
    if not re.fullmatch(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+", t):
        # float() would also take inf, nan, 1e400 (= inf), -5 and "1_0"
        raise ValueError(f"bad percentage {_shown(t)} (use e.g. 1% or 0.5%)")
    pct = float(t)
    if pct > MAX_PERCENT:
        raise ValueError(f"percentage {_shown(t)} is larger than {MAX_PERCENT:g}%")
    return pct


@dataclass(frozen=True, slots=True)
class Budget:
    """A growth budget against a baseline: `+N%` or `+SIZE` (or an absolute SIZE)."""

    measure: Measure
    percent: float | None = None
    bytes_: int | None = None
    absolute: bool = False

    def allowed(self, baseline: int) -> int:
        if self.percent is not None:
            return baseline + int(baseline * self.percent / 100.0)
        assert self.bytes_ is not None
        return self.bytes_ if self.absolute else baseline + self.bytes_

    def describe(self) -> str:
        if self.percent is not None:
            return f"+{self.percent:g}%"
        assert self.bytes_ is not None
        return f"{self.bytes_} B" if self.absolute else f"+{self.bytes_} B"


def parse_budget(text: str) -> Budget:
    """`bss=+1%`, `image_extent=+64KiB`, `total=6MiB`."""
    if "=" not in text:
        raise ValueError(f"bad budget {_shown(text)} (use MEASURE=+N% or MEASURE=+SIZE)")
    name, _, value = text.partition("=")
    measure = parse_measure(name)
    v = value.strip()
    if v.endswith("%"):
        body = v[:-1].strip()
        if body.startswith("-"):
            raise ValueError(f"budget {_shown(text)} is negative")
        try:
            pct = parse_percent(body.removeprefix("+"))
        except ValueError as exc:
            raise ValueError(f"budget {_shown(name.strip())}: {exc}") from None
        return Budget(measure, percent=pct)
    if v.startswith("+"):
        return Budget(measure, bytes_=parse_size(v[1:]))
    return Budget(measure, bytes_=parse_size(v), absolute=True)


def parse_limit(text: str) -> tuple[Measure, float]:
    """`image_extent=8MiB` or `vmalloc_share=50%` -> (measure, bound). A size is at most 2^63
    bytes; a fraction lies in 0 .. 1 (0% .. 100%)."""
    if "=" not in text:
        raise ValueError(f"bad limit {_shown(text)} (use MEASURE=SIZE, e.g. image_extent=8MiB)")
    name, _, value = text.partition("=")
    measure = parse_measure(name)
    v = value.strip()
    if measure in FRACTION_MEASURES:
        return measure, parse_fraction(v)
    return measure, float(parse_size(v))


def parse_fraction(text: str) -> float:
    """`50%` or `0.5` -> 0.5, in 0 .. 1."""
    t = text.strip()
    frac = parse_percent(t[:-1]) / 100.0 if t.endswith("%") else parse_percent(t)
    if frac > 1.0:
        raise ValueError(f"fraction {_shown(t)} is more than 100%")
    return frac


def format_bytes(n: int) -> str:
    """Human form with the exact figure kept nearby by callers: 8388608 -> '8.00 MiB'."""
    sign = "-" if n < 0 else ""
    a = abs(n)
    if a < 1024:
        return f"{sign}{a} B"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if a >= scale:
            return f"{sign}{a / scale:.2f} {unit}"
    return f"{sign}{a} B"
