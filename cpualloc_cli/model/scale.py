"""How sizes depend on NR_CPUS (or another symbol), fitted from images built at several
values (`cpualloc scale`).

Shapes (BITS_PER_LONG and sizeof(long) from the image's word size):
  constant          a
  linear            a + b*N
  bitmap            a + b*ceil(N/BITS_PER_LONG)*sizeof(long)
  array_of_bitmaps  a + b*N*ceil(N/BITS_PER_LONG)*sizeof(long)
`b` is a count of elements (bytes per CPU, bitmaps, arrays of bitmaps), so a sound fit
has a whole `b` and a whole, non-negative `a`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction


class Shape(StrEnum):
    CONSTANT = "constant"
    LINEAR = "linear"
    BITMAP = "bitmap"
    ARRAY_OF_BITMAPS = "array_of_bitmaps"

    @property
    def order(self) -> int:
        return {"constant": 0, "linear": 1, "bitmap": 2, "array_of_bitmaps": 3}[self.value]


def shape_basis(shape: Shape, n: int, bits_per_long: int) -> int:
    """The shape's term without its coefficient, in bytes, at N = n."""
    longs = -(-n // bits_per_long)
    word = bits_per_long // 8
    if shape is Shape.CONSTANT:
        return 0
    if shape is Shape.LINEAR:
        return n
    if shape is Shape.BITMAP:
        return longs * word
    return n * longs * word


@dataclass(frozen=True, slots=True)
class ShapeFit:
    shape: Shape
    slope: Fraction  # b
    intercept: Fraction  # a
    bits_per_long: int
    exact: bool  # reproduces every measured point exactly
    loo_max_error_bytes: int | None = None  # leave-one-out cross-check (>= 3 points)

    @property
    def whole(self) -> bool:
        return self.slope.denominator == 1 and self.intercept.denominator == 1

    @property
    def has_intercept(self) -> bool:
        return self.intercept != 0

    def predict(self, n: int) -> Fraction:
        return self.intercept + self.slope * shape_basis(self.shape, n, self.bits_per_long)

    def formula(self, symbol: str = "N") -> str:
        bpl, word = self.bits_per_long, self.bits_per_long // 8
        b = _num(self.slope)
        term = {
            Shape.CONSTANT: "",
            Shape.LINEAR: f"{b}*{symbol}",
            Shape.BITMAP: f"{b}*ceil({symbol}/{bpl})*{word}",
            Shape.ARRAY_OF_BITMAPS: f"{b}*{symbol}*ceil({symbol}/{bpl})*{word}",
        }[self.shape]
        if self.shape is Shape.CONSTANT:
            return _num(self.intercept)
        if self.intercept:
            return f"{_num(self.intercept)} + {term}"
        return term


def _num(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{float(f):.4g}"


class SeriesStatus(StrEnum):
    CONSTANT = "constant"
    SCALING = "scaling"  # fits a shape
    UNEXPLAINED = "unexplained"  # changes, fits no shape: never extrapolated
    APPEARED = "appeared"  # absent at some lower N
    DISAPPEARED = "disappeared"  # absent at the largest N


@dataclass(frozen=True, slots=True)
class SeriesFit:
    """One symbol (bloat-o-meter-folded name), section or measure across the images."""

    name: str
    group: str  # "symbol", "section", "measure"
    where: str  # section name for a symbol, Berkeley column for a section, "" otherwise
    sizes: tuple[int | None, ...]  # per point, in point order; None: absent
    status: SeriesStatus
    best: ShapeFit | None
    alternatives: tuple[ShapeFit, ...]  # other fits as good as `best`
    reason: str  # why unexplained / why this shape
    at: int
    predicted_bytes: int  # central estimate at `at`
    low_bytes: int  # band at `at`
    high_bytes: int
    berkeley: str | None = None  # GNU size column of a symbol's section at the largest N where present
    nearest: ShapeFit | None = None  # best rejected fit (inexact, fractional or negative intercept; >= 3 points)

    @property
    def reference_bytes(self) -> int:
        """Size at the largest measured N (0 when absent there)."""
        return self.sizes[-1] or 0

    @property
    def cost_at_bytes(self) -> int:
        return self.predicted_bytes - self.reference_bytes


@dataclass(frozen=True, slots=True)
class DwarfArray:
    """A variable's type from DWARF as an array shape: `dims` (outermost first) of elements
    of `element_bytes` each (struct wrappers of one array, like struct cpumask, unwrapped)."""

    element_bytes: int
    dims: tuple[int, ...]

    @property
    def size_bytes(self) -> int:
        total = self.element_bytes
        for d in self.dims:
            total *= d
        return total


@dataclass(frozen=True, slots=True)
class ScaleSymbol:
    size_bytes: int
    section: str  # the section of its largest member
    berkeley: str | None  # "text" / "data" / "bss" / None (not allocated)
    code: bool  # an executable section: a function


@dataclass(frozen=True, slots=True)
class ScaleSection:
    name: str
    size_bytes: int
    berkeley: str | None


@dataclass(frozen=True)
class ScalePoint:
    """One image as `scale` needs it: N, folded symbol sizes, sections, measures."""

    n: int
    label: str
    bits_per_long: int
    symbols: dict[str, ScaleSymbol]
    sections: tuple[ScaleSection, ...]
    text_bytes: int
    data_bytes: int
    bss_bytes: int
    extent_bytes: int | None
    extent_label: str = ""
    dwarf: dict[str, DwarfArray] = field(default_factory=dict)  # from CONFIG_DEBUG_INFO, when present
    #: None: symbol sizes are st_size; else where the symbols came from (kallsyms...): sizes derived
    symbols_from: str | None = None


@dataclass(frozen=True, slots=True)
class Prediction:
    measure: str  # text, data, bss, total, image_extent
    reference_bytes: int  # measured at the largest N
    predicted_bytes: int
    low_bytes: int
    high_bytes: int
    explained_bytes: int  # part of the change from shapes
    unexplained_low_bytes: int  # part of the band from unexplained symbols
    unexplained_high_bytes: int
    # Alignment padding is not in the band: the largest |change of the measure - change of
    # its symbols| seen between consecutive measured builds shows its size.
    padding_seen_bytes: int = 0


@dataclass(frozen=True, slots=True)
class LimitAnswer:
    measure: str
    bound_bytes: int
    largest_n: int | None  # central estimate; None: not even the smallest N fits
    largest_n_pessimistic: int | None  # using the high end of the band
    searched_up_to: int
    fits_at: bool  # whether the central prediction at --at fits (and --at builds)
    source: str = ""  # "--limit" or the limits database id
    at_does_not_build: str | None = None  # why --at does not build, when it does not
    # the largest N that fits but does not build (above largest_n), when a build bound cut it
    largest_n_unbuildable: int | None = None


@dataclass(frozen=True)
class ScaleReport:
    symbol: str  # "NR_CPUS"
    points: tuple[tuple[int, str], ...]  # (N, label)
    at: int
    bits_per_long: int
    symbols: tuple[SeriesFit, ...]  # every symbol that changed or appeared/disappeared
    sections: tuple[SeriesFit, ...]
    measures: tuple[SeriesFit, ...]  # direct fits of text/data/bss/total/image_extent
    predictions: tuple[Prediction, ...]
    limits: tuple[LimitAnswer, ...] = ()
    constant_symbols: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def scaling(self) -> tuple[SeriesFit, ...]:
        return tuple(s for s in self.symbols if s.status is SeriesStatus.SCALING)

    def unexplained(self) -> tuple[SeriesFit, ...]:
        return tuple(s for s in self.symbols if s.status is SeriesStatus.UNEXPLAINED)

    def appeared_or_disappeared(self) -> tuple[SeriesFit, ...]:
        return tuple(s for s in self.symbols if s.status in (SeriesStatus.APPEARED, SeriesStatus.DISAPPEARED))
