"""Issue 13: boot-loader, partition and stack limits, each at its bound and one step over, with
the source's figure written out here (never cpualloc's own output); warn_within; presets; the
limits JSON schema."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import REPO, cli_json, run_cli

from cpualloc_cli.adapters.limits_loader import load_database, load_platforms
from cpualloc_cli.analysis.engine import verdict
from cpualloc_cli.analysis.limits import CheckContext, evaluate_limits
from cpualloc_cli.analysis.placement import compute_partition_blocks, compute_stack_cpumask_bytes
from cpualloc_cli.model.findings import Severity
from cpualloc_cli.model.limits import Limit, LimitOutcome, Status

MiB = 1 << 20
KiB = 1 << 10


def limit(rule: str) -> Limit:
    return next(lim for lim in load_database() if lim.id == rule)


def run(rule: str, arch: str, measures: dict[str, float], params: dict[str, int] | None = None,
        config: dict[str, str] | None = None) -> LimitOutcome:
    ctx = CheckContext(arch=arch, kernel_version="6.1.0", measures=measures, params=params or {}, config=config)
    outcomes, na = evaluate_limits([limit(rule)], [], ctx)
    assert not na, f"{rule} does not apply to {arch}"
    return outcomes[0]


def test_uboot_bootm_len_at_and_over() -> None:
    # U-Boot v2023.01 cmd/Kconfig:360: default 0x4000000 if PPC || ARM64 (and the qemu run: 64 MiB boots)
    bootm = 0x4000000
    assert run("uboot.bootm-len", "arm64", {"decompressed_size": bootm}, {"bootm_len": bootm}).status is Status.PASS
    over = run("uboot.bootm-len", "arm64", {"decompressed_size": bootm + 1}, {"bootm_len": bootm})
    assert over.status is Status.FAIL and over.severity is Severity.ERROR and over.margin == -1
    skipped = run("uboot.bootm-len", "arm64", {"decompressed_size": bootm + 1})
    assert skipped.status is Status.SKIPPED and "--param bootm_len=SIZE" in (skipped.skip_reason or "")


def test_arm64_dtb_2mib() -> None:
    # Documentation/arch/arm64/booting.rst:50-51: "must not exceed 2 megabytes in size"
    assert run("arm64.dtb-2mib", "arm64", {"dtb_size": 2 * MiB}).status is Status.PASS
    assert run("arm64.dtb-2mib", "arm64", {"dtb_size": 2 * MiB + 1}).status is Status.FAIL


def test_powerpc_wrapper_4mib() -> None:
    # arch/powerpc/boot/wrapper:249 link_address='0x400000'; main.c:63: fatal when _start < loadsize
    assert run("powerpc.wrapper-link-address", "powerpc", {"decompressed_size": 0x400000}).status is Status.PASS
    over = run("powerpc.wrapper-link-address", "powerpc", {"decompressed_size": 0x400001})
    assert over.status is Status.FAIL and over.severity is Severity.WARNING


@pytest.mark.parametrize("config,order", [({"64BIT": "n", "KALLSYMS": "n"}, 25), ({"64BIT": "n", "KALLSYMS": "y"}, 26),
                                          ({"64BIT": "y", "KALLSYMS": "n"}, 26)])
def test_parisc_initial_map(config: dict[str, str], order: int) -> None:
    # pgtable.h:97-101 KERNEL_INITIAL_ORDER 25/26; setup.c:402: warns when __pa(&_end) >= 1 << ORDER;
    # page.h:149: the image starts 0x100000 into RAM, so __pa(_end) = 0x100000 + extent
    last_ok = (1 << order) - 0x100000 - 1
    assert run("parisc.initial-map", "parisc", {"image_extent": last_ok}, config=config).status is Status.PASS
    assert run("parisc.initial-map", "parisc", {"image_extent": last_ok + 1}, config=config).status is Status.FAIL


def test_stack_cpumask_bytes_is_bits_to_longs() -> None:
    # include/linux/bitops.h:19 BITS_TO_LONGS(nr) = DIV_ROUND_UP(nr, BITS_PER_TYPE(long))
    assert compute_stack_cpumask_bytes(16384, 8) == 2048  # 16384 / 64 = 256 longs
    assert compute_stack_cpumask_bytes(16385, 8) == 2056  # 257 longs
    assert compute_stack_cpumask_bytes(8192, 4) == 1024
    assert compute_stack_cpumask_bytes(8193, 4) == 1028
    assert compute_stack_cpumask_bytes(1, 8) == 8


def test_stack_cpumask_against_frame_warn() -> None:
    # lib/Kconfig.debug:413-414: FRAME_WARN default 1024 if !64BIT, 2048 if 64BIT
    cfg = {"CPUMASK_OFFSTACK": "n"}
    assert run("stack.cpumask-frame-warn-64", "x86_64", {"stack_cpumask_bytes": 2048}, config=cfg).status is Status.PASS
    over = run("stack.cpumask-frame-warn-64", "x86_64", {"stack_cpumask_bytes": 2056}, config=cfg)
    assert over.status is Status.FAIL and over.severity is Severity.WARNING
    assert run("stack.cpumask-frame-warn-32", "i386", {"stack_cpumask_bytes": 1024}, config=cfg).status is Status.PASS
    assert run("stack.cpumask-frame-warn-32", "i386", {"stack_cpumask_bytes": 1028}, config=cfg).status is Status.FAIL
    # a config's own FRAME_WARN is the bound
    own = run("stack.cpumask-frame-warn-64", "x86_64", {"stack_cpumask_bytes": 1032},
              config={"CPUMASK_OFFSTACK": "n", "FRAME_WARN": "1024"})
    assert own.status is Status.FAIL and own.bound == 1024
    # CPUMASK_OFFSTACK=y: cpumask_var_t is a pointer, the limit does not apply
    ctx = CheckContext(arch="x86_64", kernel_version="6.1.0", measures={"stack_cpumask_bytes": 65536},
                       config={"CPUMASK_OFFSTACK": "y"})
    _, na = evaluate_limits([limit("stack.cpumask-frame-warn-64")], [], ctx)
    assert na == ("stack.cpumask-frame-warn-64",)


def test_android_boot_partition_warns_within_32kib() -> None:
    # AOSP core/definitions.mk:3516-3521: error when total > maxsize; WARNING when total > maxsize - 32768
    part = 64 * MiB
    p = {"boot_partition": part}
    clean = run("android.boot-partition", "arm64", {"partition_blocks": part - 32768}, p)
    assert clean.status is Status.PASS
    near = run("android.boot-partition", "arm64", {"partition_blocks": part - 32767}, p)
    assert near.status is Status.FAIL and near.severity is Severity.WARNING
    assert any("within 32.00 KiB" in line for line in near.arithmetic)
    at = run("android.boot-partition", "arm64", {"partition_blocks": part}, p)
    assert at.status is Status.FAIL and at.severity is Severity.WARNING  # AOSP: a warning, not an error, at maxsize
    over = run("android.boot-partition", "arm64", {"partition_blocks": part + 1}, p)
    assert over.status is Status.FAIL and over.severity is Severity.ERROR


def test_verdict_warn_within() -> None:
    bound = 1000.0
    assert verdict(968.0, bound, False, False, warn_within=32.0) is Status.PASS
    assert verdict(969.0, bound, False, False, warn_within=32.0) is Status.FAIL
    assert verdict(1001.0, bound, False, False, warn_within=32.0) is Status.FAIL
    assert verdict(969.0, bound, False, False) is Status.PASS


def test_openwrt_kernel_size_with_erase_block_rounding() -> None:
    # include/image-commands.mk check-kernel-size: KERNEL_SIZE -ge stat -c%s (padded to the erase block)
    kernel_size, block = 2 * MiB, 64 * KiB
    assert compute_partition_blocks(kernel_size - block + 1, block) == kernel_size  # 32 blocks
    assert compute_partition_blocks(kernel_size + 1, block) == kernel_size + block  # 33 blocks
    p = {"kernel_partition": kernel_size}
    assert run("openwrt.kernel-size", "mips", {"partition_blocks": kernel_size}, p).status is Status.PASS
    assert run("openwrt.kernel-size", "mips", {"partition_blocks": kernel_size + block}, p).status is Status.FAIL


def test_yocto_du_ks() -> None:
    # kernel.bbclass:773-775: size=`du -ks` (KiB of 4 KiB blocks on ext4); too big when size -gt MAXSIZE
    maxsize_kib = 4096
    at = compute_partition_blocks(maxsize_kib * KiB, 4 * KiB)  # du -ks: 4096
    over = compute_partition_blocks(maxsize_kib * KiB + 1, 4 * KiB)  # du -ks: 4100
    assert (at // KiB, over // KiB) == (4096, 4100)
    p = {"kernel_image_maxsize": maxsize_kib * KiB}
    assert run("yocto.kernel-image-maxsize", "arm64", {"partition_blocks": at}, p).status is Status.PASS
    assert run("yocto.kernel-image-maxsize", "arm64", {"partition_blocks": over}, p).status is Status.FAIL


def test_debian_kdump_preset_feeds_crashkernel() -> None:
    # kdump-tools.cfg:1: crashkernel=384M-:128M
    preset = next(p for p in load_platforms() if p.id == "debian-kdump")
    assert preset.params == {"crashkernel": 128 * MiB}
    assert run("kdump.crashkernel-fit", "x86_64", {"total": 128 * MiB}, preset.params).status is Status.PASS
    assert run("kdump.crashkernel-fit", "x86_64", {"total": 128 * MiB + 1}, preset.params).status is Status.FAIL


def test_presets_carry_their_figures() -> None:
    by_id = {p.id: p for p in load_platforms()}
    # U-Boot v2023.01 cmd/Kconfig:360-362
    assert by_id["uboot-arm64"].params["bootm_len"] == 0x4000000
    assert by_id["uboot-x86"].params["bootm_len"] == 0x1000000
    assert by_id["uboot-arm"].params["bootm_len"] == 0x800000
    # U-Boot v2026.10-rc2 boot/Kconfig:1111
    assert by_id["uboot-arm64-2026"].params["bootm_len"] == 0x8000000
    # include/configs/rpi.h:119-123 and qemu-arm.h:82-86
    assert by_id["rpi-arm64-uboot"].addresses == {"load_addr": 0x80000, "dtb_addr": 0x2600000,
                                                  "initrd_addr": 0x2700000, "ram_base": 0}
    assert by_id["qemu-virt-arm64-uboot"].addresses["load_addr"] == 0x40400000
    assert by_id["qemu-virt-arm64-uboot"].addresses["initrd_addr"] == 0x44000000
    for p in by_id.values():
        assert p.sources, p.id


def _validate(doc: dict[str, Any], schema_name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((REPO / "schemas" / schema_name).read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)


def test_limits_json_validates_and_every_source_is_upstream() -> None:
    doc = cli_json(["limits", "--platform", "list"], 0)
    _validate(doc, "limits.schema.json")
    assert len(doc["platforms"]) >= 9
    for entry in doc["limits"] + doc["platforms"]:
        assert entry["sources"], entry["id"]
        for src in entry["sources"]:
            for bad in ("../shared", "shared/reference", "/work/", "/root/", "cpualloc_cli/", "tests/"):
                assert bad not in src, (entry["id"], src)
    lkml = [s for e in doc["limits"] for s in e["sources"] if "2007-11" in s]
    assert lkml and all(s.startswith("linux-kernel (LKML) 2007-11-13, ") for s in lkml)


def test_limits_schema_measures_follow_the_enum() -> None:
    from cpualloc_cli.model.measures import Measure

    schema = json.loads((REPO / "schemas" / "limits.schema.json").read_text())
    assert set(schema["$defs"]["measure"]["enum"]) == {m.value for m in Measure}


def test_limits_platform_shows_sources() -> None:
    code, out, _ = run_cli(["limits", "--platform", "rpi-arm64-uboot"])
    assert code == 0
    flat = "".join(out.split())  # rich folds long lines at the terminal width
    assert "include/configs/rpi.h:26:" in flat and "fdt_addr_r=0x02600000" in flat and "addressdtb_addr=0x2600000" in flat
    assert "uboot.bootm-len" in flat and "arm64.image-size-placement" in flat
    code, _, err = run_cli(["limits", "--platform", "no-such-board"])
    assert code == 2 and "unknown preset" in err


def test_policy_selects_and_defines_presets(tmp_path: Any) -> None:
    pol = tmp_path / "cpualloc.toml"
    pol.write_text('platform = "my-board"\n[[preset]]\nid = "my-board"\ntitle = "t"\n'
                   'params = { bootm_len = "0x800000" }\nsources = ["vendor U-Boot defconfig: CONFIG_SYS_BOOTM_LEN=0x800000"]\n')
    doc = cli_json(["limits", "--policy", str(pol), "--platform", "my-board"], 0)
    assert doc["platforms"][0]["params"] == {"bootm_len": 0x800000}
    assert doc["platforms"][0]["origin"] == str(pol)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[preset]]\nid = "x"\nparams = { bootm = "1MiB" }\n')
    code, _, err = run_cli(["limits", "--policy", str(bad)])
    assert code == 3 and "params.bootm: unknown parameter" in err
