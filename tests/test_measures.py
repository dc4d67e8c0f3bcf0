"""The shared size/budget vocabulary (PRODUCT.md "Measures and units")."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpualloc_cli.model.measures import MAX_SIZE_BYTES, Measure, parse_budget, parse_limit, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8MiB", 8 * 1024 * 1024),  # the thread's "8 MB" is 8 MiB
        ("8M", 8 * 1024 * 1024),
        ("512 KiB", 512 * 1024),
        ("64K", 65536),
        ("1GiB", 1 << 30),
        ("4096", 4096),
        ("4096B", 4096),
        ("0x400000", 4 * 1024 * 1024),
        ("1.5KiB", 1536),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["8MB", "abc", "-1", "1.1B", ""])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_budgets() -> None:
    b = parse_budget("bss=+1%")
    assert b.measure is Measure.BSS and b.allowed(1000) == 1010
    b = parse_budget("image_extent=+64KiB")
    assert b.allowed(1_000_000) == 1_000_000 + 65536
    b = parse_budget("total=6MiB")
    assert b.allowed(123) == 6 * 1048576
    with pytest.raises(ValueError):
        parse_budget("nosuch=+1%")


def test_limits() -> None:
    assert parse_limit("image_extent=8MiB") == (Measure.IMAGE_EXTENT, 8388608.0)
    assert parse_limit("vmalloc_share=50%") == (Measure.VMALLOC_SHARE, 0.5)


# --- bounds (issue 17, class 10) ---------------------------------------------------------------



@given(st.integers(min_value=0, max_value=1 << 63))
def test_every_size_up_to_2_63_round_trips(n: int) -> None:
    assert parse_size(str(n)) == n and parse_size(hex(n)) == n and parse_size(f"{n}B") == n


@given(st.integers(min_value=(1 << 63) + 1, max_value=1 << 200))
def test_every_size_past_2_63_is_refused(n: int) -> None:
    for text in (str(n), hex(n)):
        with pytest.raises(ValueError):
            parse_size(text)


@given(st.integers(min_value=0, max_value=1 << 40), st.sampled_from([("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30)]))
def test_units_scale_or_refuse(n: int, unit: tuple[str, int]) -> None:
    name, scale = unit
    if n * scale <= MAX_SIZE_BYTES:
        assert parse_size(f"{n}{name}") == n * scale
    else:
        with pytest.raises(ValueError, match="2\\^63"):
            parse_size(f"{n}{name}")


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_text_as_a_budget_is_a_budget_or_a_value_error(x: float) -> None:
    """repr(float) covers inf, nan, 1e+300, -0.0, 5e-324: never OverflowError, never NaN inside."""
    try:
        b = parse_budget(f"bss=+{x!r}%")
    except ValueError:
        return
    assert b.percent is not None and 0 <= b.percent <= 1_000_000
    assert b.allowed(1 << 62) >= 1 << 62
