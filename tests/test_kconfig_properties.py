"""Properties of config resolution (hypothesis), each with a hand-derived oracle."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpualloc_cli.adapters.kconfig import ConfigRequest, decode_config_bytes, load_resolved_config
from cpualloc_cli.errors import ConfigError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


@SETTINGS
@given(st.integers(min_value=-20, max_value=5000))
def test_i386_nr_cpus_taken_iff_in_range(n: int) -> None:
    # i386 2.6.24: range 2 255, default "8" (X86_PC): in range -> taken, else the default, never clamped
    rc = load_resolved_config(ConfigRequest(arch="i386", sets=(("NR_CPUS", str(n)),))).resolved
    expected = n if 2 <= n <= 255 else 8
    assert rc.get_int("NR_CPUS") == expected
    assert bool([f for f in rc.findings if f.rule == "config.out-of-range"]) == (not 2 <= n <= 255)


@SETTINGS
@given(st.integers(min_value=0, max_value=20), st.sampled_from(["sparc64", "ia64", "x86_64"]))
def test_cpu_area_order_any_value_is_taken(order: int, arch: str) -> None:
    # CPU_AREA_ORDER has no range in the model: every int is taken as given
    rc = load_resolved_config(ConfigRequest(arch=arch, sets=(("CPU_AREA_ORDER", str(order)),))).resolved
    assert rc.get_int("CPU_AREA_ORDER") == order


config_lines = st.lists(st.one_of(
    st.from_regex(r"CONFIG_[A-Z0-9_]{1,12}=[ -~]{0,12}", fullmatch=True),
    st.from_regex(r"# CONFIG_[A-Z0-9_]{1,12} is not set", fullmatch=True),
    st.sampled_from(["CONFIG_NR_CPUS=64", "CONFIG_SMP=y", "# CONFIG_SMP is not set", "CONFIG_ARCH_IA64=y",
                     'CONFIG_KERNEL_VERSION="x', "CONFIG_PAGE_SHIFT=0x10", "CONFIG_NR_CPUS=", "garbage line"]),
    st.text(max_size=30).filter(lambda s: "\n" not in s and "\r" not in s),
), max_size=15)


@SETTINGS
@given(config_lines)
def test_any_config_text_resolves_or_is_a_config_error(lines: list[str]) -> None:
    # a .config is data: whatever it says, resolution gives values and findings, never a crash
    text = "\n".join(lines) + "\n"
    rc = load_resolved_config(ConfigRequest(config_text=text, config_display="fuzz.config")).resolved
    assert rc.values["SMP"] in ("y", "n")
    for f in rc.findings:
        assert f.path in ("fuzz.config", None, "--set") or f.path.endswith("Kconfig.arch")


@SETTINGS
@given(st.binary(max_size=200))
def test_decode_bytes_is_text_or_config_error(data: bytes) -> None:
    try:
        text = decode_config_bytes(data, "b.config")
    except ConfigError as exc:
        assert exc.path == "b.config"
        return
    assert "\x00" not in text
