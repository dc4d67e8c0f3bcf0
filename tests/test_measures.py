"""The shared size/budget vocabulary (PRODUCT.md "Measures and units")."""

import pytest

from cpualloc_cli.model.measures import Measure, parse_budget, parse_limit, parse_size


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
