"""Policy files: discovery, schema errors (exit 3 naming file and key), waivers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cpualloc_cli.adapters.limits_loader import load_database
from cpualloc_cli.adapters.policy import find_policy, load_policy
from cpualloc_cli.errors import EXIT_INPUT, PolicyError


def test_database_loads_and_every_limit_is_cited() -> None:
    limits = load_database()
    ids = [limit.id for limit in limits]
    assert len(ids) == len(set(ids))
    for limit in limits:
        assert limit.sources, limit.id
    assert {"sparc64.image-8mib", "x86.kernel-image-size", "sparc64.pageflags-nr-cpus",
            "i386.vmalloc-share", "kdump.crashkernel-fit", "boot.load-window",
            "module.percpu-reserve", "x86_64.percpu-below-physical-start"} <= set(ids)
    by_id = {limit.id: limit for limit in limits}
    assert by_id["sparc64.image-8mib"].bound == 8 * 1024 * 1024
    assert by_id["sparc64.image-locked-tlb"].bound == 0x6000000 - 0x400000  # TLBTEMP_BASE - KERNBASE
    assert by_id["x86.kernel-image-size"].bound == 512 * 1024 * 1024
    assert by_id["x86.kernel-image-size"].bound_when[0].bound == 1024 * 1024 * 1024


def test_found_upward_cpualloc_toml(tmp_path: Path) -> None:
    (tmp_path / "cpualloc.toml").write_text('fail_on = "warning"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_policy(str(deep)) == (str(tmp_path / "cpualloc.toml"), False)
    assert load_policy(start=str(deep)).fail_on == "warning"


def test_pyproject_without_table_is_passed_over(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.cpualloc]\ncrashkernel = "16MiB"\n')
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "x"\n')
    policy = load_policy(start=str(inner))
    assert policy.path == str(tmp_path / "pyproject.toml")
    assert policy.params["crashkernel"] == 16 * 1024 * 1024


def test_waiver_and_budget_parse(tmp_path: Path) -> None:
    p = tmp_path / "cpualloc.toml"
    p.write_text(
        '[budgets]\nbss = "+1%"\nimage_extent = "+64KiB"\n'
        '[[waiver]]\nrule = "x86.kernel-image-size"\nreason = "known, ticket 12"\nexpires = 2026-12-31\n'
        '[[limit]]\nid = "our.flash"\ntitle = "flash partition"\nmeasure = "compressed_size"\nbound = "6MiB"\n'
    )
    policy = load_policy(str(p))
    assert policy.waivers[0].expires == dt.date(2026, 12, 31)
    assert policy.waivers[0].active(dt.date(2026, 12, 31))
    assert not policy.waivers[0].active(dt.date(2027, 1, 1))
    assert [b.measure.value for b in policy.budgets] == ["bss", "image_extent"]
    assert policy.budgets[1].bytes_ == 65536
    assert policy.limits[0].bound == 6 * 1024 * 1024


@pytest.mark.parametrize(("text", "key"), [
    ('[[waiver]]\nrule = "x"\n', "waiver[0].reason"),
    ('[[waiver]]\nrule = "x"\nreason = "r"\nexpires = "soon"\n', "waiver[0].expires"),
    ('[[limit]]\nid = "a"\nmeasure = "bogus"\nbound = "1MiB"\n', "limit[0] (a).measure"),
    ('[[limit]]\nid = "a"\nmeasure = "bss"\nbound = "8MB"\n', "limit[0] (a).bound"),
    ('[[limit]]\nid = "a"\nmeasure = "bss"\n', "limit[0] (a).bound"),
    ('[budgets]\nbss = "lots"\n', "budgets.bss"),
    ('colour = "red"\n', "colour"),
    ('fail_on = "sometimes"\n', "fail_on"),
])
def test_malformed_policy_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    p = tmp_path / "cpualloc.toml"
    p.write_text(text)
    with pytest.raises(PolicyError) as info:
        load_policy(str(p))
    assert info.value.exit_code == EXIT_INPUT
    assert info.value.path == str(p)
    assert info.value.message.startswith(key), info.value.message


def test_toml_syntax_error_has_the_line(tmp_path: Path) -> None:
    p = tmp_path / "cpualloc.toml"
    p.write_text('fail_on = "warning"\n[[waiver]\n')
    with pytest.raises(PolicyError) as info:
        load_policy(str(p))
    assert info.value.line == 2
