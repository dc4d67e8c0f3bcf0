"""`cpualloc scale` end to end: IMAGE@N parsing, N from the embedded config, formats, limits
and exit codes. Expected coefficients are the hand-worked ones of synth.c (see
tests/test_scale_synthetic.py) and the C definitions quoted in tests/test_scale_sparc64.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli

from cpualloc_cli.cli.scale_cmd import config_value, split_image_arg

SYN = FIXTURES / "scale" / "synthetic"


def syn(n: int) -> str:
    return f"{SYN / f'synth-n{n}.o'}@{n}"


def test_split_image_arg() -> None:
    assert split_image_arg("vmlinux@256") == ("vmlinux", 256)
    assert split_image_arg("vmlinux") == ("vmlinux", None)
    assert split_image_arg("dir@x/vmlinux") == ("dir@x/vmlinux", None)
    assert split_image_arg("a@b@64") == ("a@b", 64)
    assert config_value("CONFIG_NR_CPUS=100\n# CONFIG_FORCE_NR_CPUS is not set\n", "NR_CPUS") == 100
    assert config_value("# CONFIG_NR_CPUS is not set\n", "NR_CPUS") is None


def test_synthetic_json() -> None:
    rc, out, err = run_cli(["scale", syn(10), syn(64), syn(100), "--at", "200", "--format", "json"])
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "scale" and doc["at"] == 200 and [p["n"] for p in doc["points"]] == [10, 64, 100]
    by = {s["name"]: s for s in doc["symbols"]}
    # hand-worked: struct elem (8 + 6*4 = 32 B) per_cpu_things[N]; unsigned long core_map[N][BITS_TO_LONGS(N)]
    assert by["per_cpu_things"]["best"]["shape"] == "linear" and by["per_cpu_things"]["best"]["slope"] == 32
    assert by["per_cpu_things"]["predicted_bytes"] == 32 * 200
    assert by["core_map"]["best"]["shape"] == "array_of_bitmaps" and by["core_map"]["predicted_bytes"] == 200 * 4 * 8
    assert by["with_header"]["best"]["intercept_bytes"] == 24
    assert by["steps"]["status"] == "unexplained" and by["steps"]["predicted_bytes"] == 100


def test_text_output() -> None:
    rc, out, err = run_cli(["scale", syn(10), syn(64), syn(100), "--at", "200"])
    assert rc == 0, err
    assert "per_cpu_things" in out and "32*N" in out and "steps" in out and "\x1b[" not in out
    assert "not every image embeds its config" in out


def test_limit_answers_and_exit_code() -> None:
    # bss at N: by hand the scaling bss objects cost 32N + 8*ceil(N/64) + 8N*ceil(N/64) + (24 + 8*ceil(N/64));
    # a bound at the 100-point measurement fits N=100 and nothing far above it.
    bss100 = int((SYN / "synth-n100.size.txt").read_text().splitlines()[1].split()[2])
    rc, out, err = run_cli(["scale", syn(10), syn(64), syn(100), "--at", "200", "--format", "json",
                            "--limit", f"bss={bss100}"])
    assert rc == 1, err  # at 200 the prediction exceeds the bound
    ans = json.loads(out)["limits"][0]
    assert ans["measure"] == "bss" and ans["fits_at"] is False
    assert ans["largest_n"] == 100
    rc, out, _ = run_cli(["scale", syn(10), syn(64), syn(100), "--at", "50", "--limit", f"bss={bss100}"])
    assert rc == 0


@pytest.mark.parametrize("args", [
    ["scale", "x.o@1"],
    ["scale", "a.o@64", "b.o@64", "--limit", "bogus=1"],
    ["scale", "a.o@64", "b.o@64", "--limit", "vmalloc_share=50%"],
])
def test_usage_errors(args: list[str]) -> None:
    rc, _, err = run_cli(args)
    assert rc == 2, err


def test_same_n_twice_is_usage_error() -> None:
    rc, _, err = run_cli(["scale", syn(64), f"{SYN / 'synth-n100.o'}@64"])
    assert rc == 2 and "same NR_CPUS" in err


def test_missing_n_without_ikconfig_is_input_error(tmp_path: Path) -> None:
    rc, out, err = run_cli(["scale", str(SYN / "synth-n10.o"), syn(64)])
    assert rc == 3 and out == "" and err.count("\n") == 1 and "@N" in err
    rc, _, err = run_cli(["scale", str(tmp_path / "nope")+"@4", syn(64)])
    assert rc == 3


@pytest.mark.realkernel
def test_shared_pair_n_from_embedded_config(kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    old, new = str(kernel_vmlinux("sparc64-tiny-nr64")), str(kernel_vmlinux("sparc64-tiny-nr256"))
    rc, out, err = run_cli(["scale", old, new, "--at", "4096", "--limit", "image_extent=8MiB", "--format", "json"])
    doc = json.loads(out)
    assert [p["n"] for p in doc["points"]] == [64, 256]  # CONFIG_NR_CPUS of each embedded .config
    by = {s["name"]: s for s in doc["symbols"]}
    assert by["trap_block"]["best"]["formula"] == "256*NR_CPUS"  # sizeof(struct trap_per_cpu) = 256
    assert by["cpu_core_map"]["best"]["shape"] == "array_of_bitmaps"
    ext = {p["measure"]: p for p in doc["predictions"]}["image_extent"]
    ans = doc["limits"][0]
    # 8 MiB (the sparc64 loader limit of the 2007 thread) is exceeded at 4096: exit 1
    assert ext["predicted_bytes"] > 8 << 20 and rc == 1 and ans["fits_at"] is False
    # this config (no SPARSEMEM_VMEMMAP) does not build above 256 (../shared/kernels/README.md;
    # the page-flags BUILD_BUG_ON): the answer is capped there, and the model's own boundary kept
    assert ans["largest_n"] == 256
    assert ans["at_does_not_build"] == "the sparc64 page-flags BUILD_BUG_ON (arch/sparc/mm/init_64.c) fails"
    n = ans["largest_n_unbuildable"]
    assert 256 < n < 4096
    # the answer is the boundary of the prediction: re-run at n and n+1
    for at, fits in ((n, True), (n + 1, False)):
        rc2, out2, _ = run_cli(["scale", f"{old}@64", f"{new}@256", "--at", str(at), "--format", "json"])
        pred = {p["measure"]: p for p in json.loads(out2)["predictions"]}["image_extent"]["predicted_bytes"]
        assert (pred <= 8 << 20) is fits
    # a wrong @N contradicting the embedded config is refused
    rc, _, err = run_cli(["scale", f"{old}@65", new])
    assert rc == 2 and "CONFIG_NR_CPUS=64" in err


@pytest.mark.realkernel
def test_database_limits_that_apply(kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    # The embedded configs say "Linux/sparc64 6.1.192": the 8 MiB rule of the 2.6.24 era
    # (before 2.6.27 in the database) does not apply; the locked-TLB one (since 2.6.27) does.
    old, new = str(kernel_vmlinux("sparc64-tiny-nr64")), str(kernel_vmlinux("sparc64-tiny-nr256"))
    rc, out, err = run_cli(["scale", old, new, "--format", "json", "--at", "256"])
    assert rc == 0, err
    sources = {a["source"]: a for a in json.loads(out)["limits"]}
    assert "sparc64.image-8mib" not in sources
    tlb = sources["sparc64.image-locked-tlb"]
    assert tlb["bound_bytes"] == 92 << 20 and tlb["fits_at"] is True
    assert tlb["searched_up_to"] == 4096  # arch/sparc/Kconfig: NR_CPUS range 2..4096
    # at 4096 the extent would fit 92 MiB, but that config does not build above 256: exit 1
    rc, out, err = run_cli(["scale", old, new, "--format", "json", "--at", "4096"])
    tlb = {a["source"]: a for a in json.loads(out)["limits"]}["sparc64.image-locked-tlb"]
    assert rc == 1 and tlb["fits_at"] is False and tlb["at_does_not_build"] is not None
    rc, out, _ = run_cli(["scale", old, new, "--format", "json", "--no-limits-db"])
    assert json.loads(out)["limits"] == []


@pytest.mark.realkernel
def test_images_of_different_arches_are_refused(kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = run_cli(["scale", f"{kernel_vmlinux('sparc64-tiny-nr64')}@64", syn(10)])
    assert rc == 2 and out == "" and "sparc64" in err and "x86_64" in err
