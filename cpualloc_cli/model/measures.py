"""The shared vocabulary of measures and the size syntax used by --limit, --budget,
policy files and JSON keys (PRODUCT.md, "Measures and units")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


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


# vmalloc_share is a fraction, everything else is bytes.
FRACTION_MEASURES = frozenset({Measure.VMALLOC_SHARE})

_UNITS = {
    "": 1, "b": 1,
    "k": 1 << 10, "kib": 1 << 10,
    "m": 1 << 20, "mib": 1 << 20,
    "g": 1 << 30, "gib": 1 << 30,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def parse_measure(text: str) -> Measure:
    try:
        return Measure(text.strip())
    except ValueError:
        known = ", ".join(m.value for m in Measure)
        raise ValueError(f"unknown measure {text!r} (known: {known})") from None


def parse_size(text: str) -> int:
    """`8MiB`, `8M`, `512 KiB`, `4096`, `0x800000` -> bytes. Binary units only; `MB` is refused
    as ambiguous rather than guessed."""
    t = text.strip()
    if t.lower().startswith("0x"):
        try:
            return int(t, 16)
        except ValueError:
            raise ValueError(f"bad size {text!r}") from None
    m = _SIZE_RE.match(t)
    if not m:
        raise ValueError(f"bad size {text!r} (use e.g. 8MiB, 512KiB, 4096B)")
    number, unit = m.group(1), m.group(2).lower()
    if unit not in _UNITS:
        raise ValueError(f"unknown unit {m.group(2)!r} in {text!r} (use B, KiB, MiB, GiB or K, M, G)")
    scale = _UNITS[unit]
    if "." in number:
        value = float(number) * scale
        if value != int(value):
            raise ValueError(f"size {text!r} is not a whole number of bytes")
        return int(value)
    return int(number) * scale


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
        raise ValueError(f"bad budget {text!r} (use MEASURE=+N% or MEASURE=+SIZE)")
    name, _, value = text.partition("=")
    measure = parse_measure(name)
    v = value.strip()
    if v.endswith("%"):
        body = v[:-1].lstrip("+")
        try:
            pct = float(body)
        except ValueError:
            raise ValueError(f"bad percentage in budget {text!r}") from None
        if pct < 0:
            raise ValueError(f"budget {text!r} is negative")
        return Budget(measure, percent=pct)
    if v.startswith("+"):
        return Budget(measure, bytes_=parse_size(v[1:]))
    return Budget(measure, bytes_=parse_size(v), absolute=True)


def parse_limit(text: str) -> tuple[Measure, float]:
    """`image_extent=8MiB` or `vmalloc_share=50%` -> (measure, bound)."""
    if "=" not in text:
        raise ValueError(f"bad limit {text!r} (use MEASURE=SIZE, e.g. image_extent=8MiB)")
    name, _, value = text.partition("=")
    measure = parse_measure(name)
    v = value.strip()
    if measure in FRACTION_MEASURES:
        if v.endswith("%"):
            return measure, float(v[:-1]) / 100.0
        return measure, float(v)
    return measure, float(parse_size(v))


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
