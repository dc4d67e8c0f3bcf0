"""How each symbol, section and measure scales with NR_CPUS: shape fitting across images
built at several values. Pure: model types in, model types out.

Rules (issue 6):
- A series that never changes is constant.
- Otherwise each shape is tried with and without an intercept. A fit is accepted when it
  reproduces every measured size exactly (sizes are whole bytes, there is no noise), its
  element count `b` is a positive whole number and its intercept `a` a whole number >= 0.
- Among accepted fits the preferred one has no intercept, then the simplest shape
  (linear < bitmap < array of bitmaps). The others are reported as alternatives, and the
  spread they give at --at is the band of that prediction (they agree at points where the
  shapes coincide, e.g. linear and bitmap at multiples of BITS_PER_LONG).
- With three or more images every accepted fit is cross-checked leave-one-out.
- A changing series with no accepted fit is unexplained: its central prediction is its
  size at the largest measured N (never extrapolated); its band runs from there to the
  straight line through the two largest measured points.
- Code (symbols in executable sections) changes size with constants, not with data
  shapes: a function that changes is unexplained.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction

from cpualloc_cli.analysis.diff import STT_FILE, STT_SECTION, berkeley_class, fold_name
from cpualloc_cli.model.image import SHF_EXECINSTR, BerkeleyTotals, ElfImage, ImageExtent
from cpualloc_cli.model.scale import (
    DwarfArray,
    LimitAnswer,
    Prediction,
    ScalePoint,
    ScaleReport,
    ScaleSection,
    ScaleSymbol,
    SeriesFit,
    SeriesStatus,
    Shape,
    ShapeFit,
    shape_basis,
)

GROWING_SHAPES = (Shape.LINEAR, Shape.BITMAP, Shape.ARRAY_OF_BITMAPS)
MEASURES = ("text", "data", "bss", "total", "image_extent")


# --- points ---------------------------------------------------------------------------------


def compute_scale_point(image: ElfImage, n: int, berkeley: BerkeleyTotals, extent: ImageExtent | None,
                        label: str | None = None, dwarf: dict[str, DwarfArray] | None = None) -> ScalePoint:
    """The figures `scale` needs from one image. Aliases (several names for one object:
    same section, address and size) count once; names are folded like bloat-o-meter's."""
    bits = image.header.elf_class
    secs = {s.index: s for s in image.sections}
    symbols: dict[str, tuple[int, int, str, str | None, bool]] = {}  # name -> (total, largest, section, berk, code)
    table = image.symbols
    if table is not None:
        seen: set[tuple[int, int, int]] = set()
        for i in range(len(table)):
            size = int(table.sizes[i])
            ndx = int(table.shndx[i])
            if size == 0 or ndx == 0 or table.elf_types[i] in (STT_SECTION, STT_FILE):
                continue
            key = (ndx, int(table.values[i]), size)
            if key in seen:
                continue
            seen.add(key)
            sec = secs.get(ndx)
            sec_name = sec.name if sec is not None else f"[{ndx:#x}]"
            berk = berkeley_class(sec) if sec is not None else ("bss" if ndx == 0xFFF2 else None)
            code = bool(sec is not None and sec.flags & SHF_EXECINSTR)
            name = fold_name(table.names[i])
            prev = symbols.get(name)
            if prev is None:
                symbols[name] = (size, size, sec_name, berk, code)
            elif size > prev[1]:
                symbols[name] = (prev[0] + size, size, sec_name, berk, code)
            else:
                symbols[name] = (prev[0] + size, prev[1], prev[2], prev[3], prev[4])
    return ScalePoint(
        n=n,
        label=label if label is not None else image.path,
        bits_per_long=bits,
        symbols={k: ScaleSymbol(v[0], v[2], v[3], v[4]) for k, v in symbols.items()},
        sections=tuple(ScaleSection(s.name, s.size_bytes, berkeley_class(s)) for s in image.sections if s.is_alloc),
        text_bytes=berkeley.text,
        data_bytes=berkeley.data,
        bss_bytes=berkeley.bss,
        extent_bytes=extent.size_bytes if extent is not None else None,
        extent_label=f"{extent.end_name} - {extent.start_name}" if extent is not None else "",
        dwarf=dict(dwarf or {}),
        symbols_from=image.symbols_from if table is not None else None,
    )


# --- fitting one series ---------------------------------------------------------------------


def _lsq(f: Sequence[int], s: Sequence[int]) -> tuple[Fraction, Fraction] | None:
    """Exact least squares s = a + b*f; None when f does not vary."""
    k = len(f)
    fm = Fraction(sum(f), k)
    sm = Fraction(sum(s), k)
    sxx = sum((Fraction(x) - fm) ** 2 for x in f)
    if sxx == 0:
        return None
    sxy = sum((Fraction(x) - fm) * (Fraction(y) - sm) for x, y in zip(f, s, strict=True))
    b = sxy / sxx
    return sm - b * fm, b


def _ratio(f: Sequence[int], s: Sequence[int]) -> Fraction | None:
    """Exact proportionality s = b*f at every point, or None."""
    if any(x == 0 for x in f):
        return None
    b = Fraction(s[0], f[0])
    return b if all(Fraction(y, x) == b for x, y in zip(f, s, strict=True)) else None


def _fit_form(shape: Shape, intercept: bool, ns: Sequence[int], sizes: Sequence[int],
              bpl: int) -> tuple[Fraction, Fraction] | None:
    f = [shape_basis(shape, n, bpl) for n in ns]
    if intercept:
        return _lsq(f, sizes)
    b = _ratio(f, sizes)
    if b is None:
        if any(x == 0 for x in f):
            return None
        # least squares through the origin, for the leave-one-out error of inexact fits
        b = Fraction(sum(x * y for x, y in zip(f, sizes, strict=True)), sum(x * x for x in f))
    return Fraction(0), b


def _loo_error(shape: Shape, intercept: bool, ns: Sequence[int], sizes: Sequence[int], bpl: int) -> int | None:
    if len(ns) < 3:
        return None
    worst = checked = 0
    for i in range(len(ns)):
        rest_n = [n for j, n in enumerate(ns) if j != i]
        rest_s = [s for j, s in enumerate(sizes) if j != i]
        ab = _fit_form(shape, intercept, rest_n, rest_s, bpl)
        if ab is None:
            continue  # the other points do not determine this form
        a, b = ab
        pred = a + b * shape_basis(shape, ns[i], bpl)
        worst = max(worst, math.ceil(abs(pred - sizes[i])))
        checked += 1
    return worst if checked else None


def fit_series(ns: Sequence[int], sizes: Sequence[int], bits_per_long: int,
               code: bool = False) -> tuple[SeriesStatus, ShapeFit | None, tuple[ShapeFit, ...], str, ShapeFit | None]:
    """(status, best, alternatives, reason, nearest inexact fit) for sizes measured at ns."""
    bpl = bits_per_long
    if all(s == sizes[0] for s in sizes):
        return (SeriesStatus.CONSTANT, ShapeFit(Shape.CONSTANT, Fraction(0), Fraction(sizes[0]), bpl, True), (),
                "same size at every N", None)
    accepted: list[ShapeFit] = []
    inexact: list[ShapeFit] = []
    for shape in GROWING_SHAPES:
        for intercept in (False, True):
            ab = _fit_form(shape, intercept, ns, sizes, bpl)
            if ab is None:
                continue
            a, b = ab
            if intercept and a == 0:
                continue  # the same as the fit without an intercept
            exact = all(a + b * shape_basis(shape, n, bpl) == s for n, s in zip(ns, sizes, strict=True))
            fit = ShapeFit(shape, b, a, bpl, exact, _loo_error(shape, intercept, ns, sizes, bpl))
            if exact and b > 0 and a >= 0 and fit.whole:
                accepted.append(fit)
            elif len(ns) >= 3 and b > 0:
                inexact.append(fit)
    nearest = min(inexact, key=lambda f: (f.loo_max_error_bytes or 0, f.has_intercept, f.shape.order)) if inexact else None
    if code:
        return (SeriesStatus.UNEXPLAINED, None, (), "code: a function's size follows constants, not a data shape",
                nearest)
    if not accepted:
        why = "fits no shape with whole element counts and intercept >= 0"
        if len(ns) == 2:
            why += " (two points)"
        return SeriesStatus.UNEXPLAINED, None, (), why, nearest
    accepted.sort(key=lambda f: (f.has_intercept, f.shape.order))
    best = accepted[0]
    if best.has_intercept:
        reason = "exact with an intercept" + (" (two points fix any intercept: weak)" if len(ns) == 2 else "")
    else:
        reason = "exact proportionality" if len(ns) == 2 else f"exact at all {len(ns)} points"
    return SeriesStatus.SCALING, best, tuple(accepted[1:]), reason, None


def fit_from_dwarf(ns: Sequence[int], arrays: Sequence[DwarfArray], bits_per_long: int) -> ShapeFit | None:
    """The shape the array bounds state: each bound must be the same at every N, or N, or
    ceil(N/BITS_PER_LONG). None when the bounds follow anything else (N+1, N*N, ...)."""
    if not arrays or len({(a.element_bytes, len(a.dims)) for a in arrays}) != 1:
        return None
    word = bits_per_long // 8
    const = Fraction(arrays[0].element_bytes)
    k_n = k_l = 0
    for i in range(len(arrays[0].dims)):
        vals = [a.dims[i] for a in arrays]
        if all(v == vals[0] for v in vals):
            const *= vals[0]
        elif all(v == n for v, n in zip(vals, ns, strict=True)):
            k_n += 1
        elif all(v == -(-n // bits_per_long) for v, n in zip(vals, ns, strict=True)):
            k_l += 1
        else:
            return None
    if (k_n, k_l) == (0, 0):
        return ShapeFit(Shape.CONSTANT, Fraction(0), const, bits_per_long, True)
    shape = {(1, 0): Shape.LINEAR, (0, 1): Shape.BITMAP, (1, 1): Shape.ARRAY_OF_BITMAPS}.get((k_n, k_l))
    if shape is None:
        return None
    slope = const if shape is Shape.LINEAR else const / word
    return ShapeFit(shape, slope, Fraction(0), bits_per_long, True)


def series_band(status: SeriesStatus, best: ShapeFit | None, alternatives: Sequence[ShapeFit],
                ns: Sequence[int], sizes: Sequence[int | None], n: int) -> tuple[int, int, int]:
    """(central, low, high) bytes at N = n for one series."""
    ref = sizes[-1] or 0
    if status is SeriesStatus.CONSTANT or status is SeriesStatus.DISAPPEARED:
        return ref, ref, ref
    if status is SeriesStatus.SCALING and best is not None:
        preds = [best.predict(n)] + [a.predict(n) for a in alternatives]
        return round(preds[0]), math.floor(min(preds)), math.ceil(max(preds))
    # unexplained, or appeared: no extrapolation; band to the line through the last two points
    known = [(x, s) for x, s in zip(ns, sizes, strict=True) if s is not None]
    if len(known) < 2:
        return ref, ref, ref
    (n1, s1), (n2, s2) = known[-2], known[-1]
    if n2 == n1:
        return ref, ref, ref
    line = Fraction(s1) + Fraction(s2 - s1, n2 - n1) * (n - n1)
    lo = max(0, math.floor(min(Fraction(ref), line)))
    hi = max(0, math.ceil(max(Fraction(ref), line)))
    return ref, lo, hi


def _series(name: str, group: str, where: str, ns: Sequence[int], sizes: Sequence[int | None], bpl: int,
            at: int, code: bool = False, berkeley: str | None = None,
            dwarf: Sequence[DwarfArray] | None = None) -> SeriesFit:
    present = [s for s in sizes if s is not None]
    alts: tuple[ShapeFit, ...]
    best: ShapeFit | None
    nearest: ShapeFit | None
    if sizes[-1] is None:
        status, best, alts, reason, nearest = SeriesStatus.DISAPPEARED, None, (), "absent at the largest N", None
    elif len(present) < len(sizes):
        status, best, alts, reason, nearest = SeriesStatus.APPEARED, None, (), "absent at a smaller N", None
    else:
        status, best, alts, reason, nearest = fit_series(ns, present, bpl, code)
        if dwarf is not None and status is not SeriesStatus.CONSTANT:
            dfit = fit_from_dwarf(ns, dwarf, bpl)
            if dfit is not None and all(dfit.predict(n) == s for n, s in zip(ns, present, strict=True)):
                status, best, alts, nearest = SeriesStatus.SCALING, dfit, (), None
                reason = "DWARF array bounds " + "x".join(str(d) for d in dwarf[-1].dims) + \
                    f" of {dwarf[-1].element_bytes} B, at {ns[-1]}"
            elif dfit is not None:
                reason += "; the DWARF array bounds disagree with the sizes"
    c, lo, hi = series_band(status, best, alts, ns, sizes, at)
    return SeriesFit(name, group, where, tuple(sizes), status, best, alts, reason, at, c, lo, hi, berkeley, nearest)


# --- the whole report -----------------------------------------------------------------------


def _measure_value(p: ScalePoint, measure: str) -> int | None:
    if measure == "text":
        return p.text_bytes
    if measure == "data":
        return p.data_bytes
    if measure == "bss":
        return p.bss_bytes
    if measure == "total":
        return p.text_bytes + p.data_bytes + p.bss_bytes
    return p.extent_bytes


def _in_measure(berkeley: str | None, measure: str) -> bool:
    if berkeley is None:
        return False
    if measure in ("total", "image_extent"):
        return True
    return berkeley == measure


def compute_scale(points: Sequence[ScalePoint], at: int, symbol: str = "NR_CPUS",
                  limits: Sequence[tuple[str, int] | tuple[str, int, str]] = (),
                  search_max: int | None = None, builds: Callable[[int], str | None] | None = None) -> ScaleReport:
    """Fit every symbol, section and measure; predict at `at`; answer each limit.
    Raises ValueError for inputs that cannot be fitted (fewer than two distinct N, ...)."""
    if len(points) < 2:
        raise ValueError("scale needs at least two images")
    pts = sorted(points, key=lambda p: p.n)
    ns = [p.n for p in pts]
    if len(set(ns)) != len(ns):
        raise ValueError(f"two images have the same {symbol}={[n for n in ns if ns.count(n) > 1][0]}")
    if min(ns) < 1 or at < 1:
        raise ValueError(f"{symbol} must be >= 1")
    bpls = {p.bits_per_long for p in pts}
    if len(bpls) != 1:
        raise ValueError("the images differ in word size: not one tree and config")
    bpl = bpls.pop()
    ref = pts[-1]

    names: list[str] = []
    seen: set[str] = set()
    for p in reversed(pts):
        for name in p.symbols:
            if name not in seen:
                seen.add(name)
                names.append(name)
    sym_fits: list[SeriesFit] = []
    constant = 0
    for name in names:
        sizes = [p.symbols[name].size_bytes if name in p.symbols else None for p in pts]
        info = ref.symbols.get(name) or next(p.symbols[name] for p in reversed(pts) if name in p.symbols)
        if all(s is not None and s == sizes[0] for s in sizes):
            constant += 1
            continue
        dw = [p.dwarf.get(name) for p in pts]
        dwarf = [d for d in dw if d is not None] if all(d is not None for d in dw) else None
        sym_fits.append(_series(name, "symbol", info.section, ns, sizes, bpl, at, info.code, info.berkeley, dwarf))
    sym_fits.sort(key=lambda s: (-(s.high_bytes - s.reference_bytes), s.name))

    sec_fits: list[SeriesFit] = []
    sec_names: list[str] = []
    for p in reversed(pts):
        for s in p.sections:
            if s.name not in sec_names:
                sec_names.append(s.name)
    for sname in sec_names:
        sizes_s: list[int | None] = []
        berk: str | None = None
        for p in pts:
            found = next((s for s in p.sections if s.name == sname), None)
            sizes_s.append(found.size_bytes if found else None)
            if found is not None:
                berk = found.berkeley
        sec_fits.append(_series(sname, "section", berk or "", ns, sizes_s, bpl, at))

    meas_fits: list[SeriesFit] = []
    for m in MEASURES:
        vals = [_measure_value(p, m) for p in pts]
        if any(v is None for v in vals):
            continue
        meas_fits.append(_series(m, "measure", "", ns, vals, bpl, at))

    predictions: list[Prediction] = []
    for m in MEASURES:
        base = _measure_value(ref, m)
        if base is None:
            continue
        pred = _predict_measure(m, base, [s for s in sym_fits if _in_measure(s.berkeley, m)], ns, at)
        predictions.append(dataclasses.replace(pred, padding_seen_bytes=_padding_seen(pts, m)))

    answers: list[LimitAnswer] = []
    skipped: list[str] = []
    top = search_max if search_max is not None else max(8192, 2 * at, ns[-1])
    for lim in limits:
        measure, bound = lim[0], lim[1]
        source = lim[2] if len(lim) > 2 else "--limit"
        base = _measure_value(ref, measure)
        if base is None and source != "--limit":
            skipped.append(f"{source}: these images have no {measure} (e.g. no _end): left out")
            continue
        if base is None:
            raise ValueError(f"these images have no {measure} to predict (scale predicts {', '.join(MEASURES)})")
        members = [s for s in sym_fits if _in_measure(s.berkeley, measure)]
        ans = dataclasses.replace(_answer_limit(measure, bound, base, members, ns, at, top), source=source)
        answers.append(_within_build(ans, at, builds) if builds is not None else ans)

    notes = list(skipped)
    derived = [p.label for p in pts if p.symbols_from is not None]
    if derived:
        origin = next(p.symbols_from for p in pts if p.symbols_from is not None)
        notes.append(f"{', '.join(derived)}: no .symtab; symbols from {origin}, "
                     "sizes derived (the distance to the next symbol in its section, an upper bound): per-symbol fits "
                     "are fits of derived sizes")
    if len(pts) == 2:
        notes.append("two images: a shape with an intercept fits any two points; fits are checked only for exactness "
                     "and whole element counts")
    if all(n % bpl == 0 for n in ns):
        notes.append(f"every measured {symbol} is a multiple of {bpl}: linear and bitmap shapes coincide there; "
                     f"add an image at a value that is not (e.g. 100) to tell them apart")
    return ScaleReport(symbol, tuple((p.n, p.label) for p in pts), at, bpl, tuple(sym_fits), tuple(sec_fits),
                       tuple(meas_fits), tuple(predictions), tuple(answers), constant, tuple(notes))


def _padding_seen(pts: Sequence[ScalePoint], measure: str) -> int:
    """Largest |change of the measure - change of the sizes of its symbols| between
    consecutive builds: what alignment padding (and unsized bytes) did there."""
    def symbols_bytes(p: ScalePoint) -> int:
        return sum(s.size_bytes for s in p.symbols.values() if _in_measure(s.berkeley, measure))

    worst = 0
    for a, b in zip(pts, pts[1:], strict=False):
        ma, mb = _measure_value(a, measure), _measure_value(b, measure)
        if ma is None or mb is None:
            continue
        worst = max(worst, abs((mb - ma) - (symbols_bytes(b) - symbols_bytes(a))))
    return worst


def _predict_measure(measure: str, base: int, members: Sequence[SeriesFit], ns: Sequence[int], n: int) -> Prediction:
    central = low = high = explained = ulo = uhi = 0
    for s in members:
        c, lo, hi = series_band(s.status, s.best, s.alternatives, ns, s.sizes, n)
        r = s.reference_bytes
        central += c - r
        low += lo - r
        high += hi - r
        if s.status is SeriesStatus.SCALING:
            explained += c - r
        else:
            ulo += lo - r
            uhi += hi - r
    return Prediction(measure, base, base + central, base + low, base + high, explained, ulo, uhi)


def _answer_limit(measure: str, bound: int, base: int, members: Sequence[SeriesFit], ns: Sequence[int], at: int,
                  top: int) -> LimitAnswer:
    """Largest N in [1, top] whose prediction fits the bound, assuming predictions grow
    with N (every accepted fit does: whole b > 0 on a non-decreasing basis)."""

    def largest(pick: int) -> int | None:
        def ok(n: int) -> bool:
            p = _predict_measure(measure, base, members, ns, n)
            return (p.predicted_bytes, p.low_bytes, p.high_bytes)[pick] <= bound

        if not ok(1):
            return None
        lo, hi = 1, top
        if ok(hi):
            return hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(mid):
                lo = mid
            else:
                hi = mid
        return lo

    at_pred = _predict_measure(measure, base, members, ns, at)
    return LimitAnswer(measure, bound, largest(0), largest(2), top, at_pred.predicted_bytes <= bound)


def _largest_building(n: int | None, builds: Callable[[int], str | None]) -> int | None:
    while n is not None and n >= 1 and builds(n) is not None:
        n -= 1
    return n if n is not None and n >= 1 else None


def _within_build(ans: LimitAnswer, at: int, builds: Callable[[int], str | None]) -> LimitAnswer:
    """The answer with build bounds applied: the largest N that fits is never above the largest
    that builds, and an --at that does not build does not fit."""
    largest = _largest_building(ans.largest_n, builds)
    pess = _largest_building(ans.largest_n_pessimistic, builds)
    why = builds(at)
    return dataclasses.replace(ans, largest_n=largest, largest_n_pessimistic=pess,
                               fits_at=ans.fits_at and why is None, at_does_not_build=why,
                               largest_n_unbuildable=ans.largest_n if largest != ans.largest_n else None)


def compute_predictions_at(report: ScaleReport, n: int) -> tuple[Prediction, ...]:
    """The predicted text/data/bss/total/image_extent at any N from a finished report (for
    `footprint`/`sweep --scale-from`): reference measured at the largest N, plus each
    symbol's predicted change, with the same band rules as the report itself."""
    ns = [p[0] for p in report.points]
    by_measure = {p.measure: p for p in report.predictions}
    out: list[Prediction] = []
    for m in MEASURES:
        ref = by_measure.get(m)
        if ref is None:
            continue
        members = [s for s in report.symbols if _in_measure(s.berkeley, m)]
        pred = _predict_measure(m, ref.reference_bytes, members, ns, n)
        out.append(dataclasses.replace(pred, padding_seen_bytes=ref.padding_seen_bytes))
    return tuple(out)


def scale_projector(report: ScaleReport) -> Callable[[str | None, int], Mapping[str, float]]:
    """A `analysis.limits.Projector` from a scale model: (design, N) -> measures. The images
    were built with one per-cpu design, so `design` is ignored; the central predictions are
    returned (the band is in compute_predictions_at)."""

    def project(design: str | None, n: int) -> Mapping[str, float]:
        return {p.measure: float(p.predicted_bytes) for p in compute_predictions_at(report, n)}

    return project


def central_predictor(report: ScaleReport) -> Callable[[int], dict[str, int]]:
    """N -> the central prediction of every measure, equal to compute_predictions_at's
    `predicted_bytes` (the oracle, tests/test_scale_fast.py) but in closed form: every accepted
    fit is a whole a + b * basis(N), so a measure is a constant plus one whole coefficient per
    (shape, BITS_PER_LONG), summed once. Series that are not whole keep the exact path. This is
    what `sweep --scale-from` evaluates at every value of its range."""
    by_measure = {p.measure: p for p in report.predictions}
    plans: dict[str, tuple[int, dict[tuple[Shape, int], int], list[SeriesFit]]] = {}
    for m in MEASURES:
        ref = by_measure.get(m)
        if ref is None:
            continue
        const = ref.reference_bytes
        coeff: dict[tuple[Shape, int], int] = {}
        slow: list[SeriesFit] = []
        for s in report.symbols:
            if not _in_measure(s.berkeley, m):
                continue
            if s.status is SeriesStatus.SCALING and s.best is not None:
                b = s.best
                if b.whole:
                    const += int(b.intercept) - s.reference_bytes
                    key = (b.shape, b.bits_per_long)
                    coeff[key] = coeff.get(key, 0) + int(b.slope)
                else:
                    slow.append(s)
            else:  # constant, disappeared, unexplained, appeared: kept at the largest N's size
                const += (s.sizes[-1] or 0) - s.reference_bytes
        plans[m] = (const, coeff, slow)

    def at(n: int) -> dict[str, int]:
        out: dict[str, int] = {}
        for m, (const, coeff, slow) in plans.items():
            total = const + sum(k * shape_basis(shape, n, bpl) for (shape, bpl), k in coeff.items())
            for s in slow:
                assert s.best is not None
                total += round(s.best.predict(n)) - s.reference_bytes
            out[m] = total
        return out

    return at
