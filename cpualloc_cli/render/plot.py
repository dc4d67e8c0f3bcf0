"""`sweep --plot FILE.png|svg`: footprint against the swept value, one line per design, limits
as horizontal lines. Needs the optional `plot` extra (matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence

from cpualloc_cli.model.footprint import SweepResult
from cpualloc_cli.model.measures import FRACTION_MEASURES, Measure

PLOT_FORMATS = ("png", "svg")


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def render_plot(result: SweepResult, measure: Measure, limits: Sequence[tuple[Measure, float]], fmt: str) -> bytes:
    """The chart as PNG or SVG bytes. Raises ImportError when matplotlib is missing."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.fonttype"] = "none"  # keep text as <text>, searchable
    matplotlib.rcParams["svg.hashsalt"] = "cpualloc"  # deterministic ids
    fig, ax = plt.subplots(figsize=(8, 4.5))
    try:
        for design, per in result.series.items():
            if measure in per:
                ys = [float(v) * (100.0 if measure in FRACTION_MEASURES else 1.0 / (1 << 20)) for v in per[measure]]
                ax.plot(list(result.points), ys, marker="o", label=design.value)
        for m, bound in limits:
            if m == measure:
                y = bound * (100.0 if measure in FRACTION_MEASURES else 1.0 / (1 << 20))
                ax.axhline(y, linestyle="--", color="red", label=f"limit {m.value}")
        ax.set_xscale("log", base=2)
        ax.set_xlabel(result.symbol)
        ax.set_ylabel(f"{measure.value} ({'%' if measure in FRACTION_MEASURES else 'MiB'})")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        buf = io.BytesIO()
        # svg: no timestamp/date metadata, so output is deterministic
        fig.savefig(buf, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
        return buf.getvalue()
    finally:
        plt.close(fig)
