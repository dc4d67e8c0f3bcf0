"""Verdicts on real inputs cpualloc did not make (issue: verdicts that are true on modern inputs).

Expected values come from outside facts written out here: the recorded GNU readelf output of the
../shared kernels, their own .config files, ../shared/kernels/README.md (what those builds are),
Debian's shipped config and System.map, and the Linux 6.1 sources cited by file:line.
"""

from __future__ import annotations

import gzip
import lzma
import os
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, cli_json, need_shared, result

KERNBASE_SPARC64 = 0x400000  # arch/sparc/include/asm/page_64.h: KERNBASE 0x400000
SAMPLES = REPO / "samples"


def recorded_symbol(name: str, symbol: str) -> int:
    """A symbol's value from the recorded `readelf -s -W` of a ../shared kernel."""
    text = lzma.decompress((need_shared() / name / "readelf-s.txt.xz").read_bytes()).decode()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[7] == symbol:
            return int(parts[1], 16)
    raise AssertionError(f"{symbol} not in {name}'s readelf -s")


def config_value(path: Path, symbol: str) -> str:
    m = re.search(rf"^CONFIG_{symbol}=(.*)$", path.read_text(), re.M)
    assert m, symbol
    return m.group(1)


def json_of(args: list[str], rc: int) -> dict[str, Any]:
    return cli_json(args, rc)


# --- the ../shared sparc64 builds, checked with their own .config: they fit -----------------------

@pytest.mark.realkernel
@pytest.mark.parametrize("name", ["sparc64-tiny-nr64", "sparc64-tiny-nr256"])
def test_shared_sparc64_with_its_own_config_fits(kernel_vmlinux, name: str) -> None:  # type: ignore[no-untyped-def]
    cfg = need_shared() / name / "config"
    doc = json_of(["check", str(kernel_vmlinux(name)), "--config", str(cfg)], rc=0)
    inputs = doc["inputs"]
    # "# Linux/sparc64 6.1.192 Kernel Configuration" in the config's header
    assert inputs["kernel_version"] == "6.1.192" and inputs["kernel_version_source"] == ".config header"
    assert inputs["nr_cpus"] == int(config_value(cfg, "NR_CPUS"))  # kept as written, not reset to 2.6.24's range
    r = result(doc, "sparc64.image-locked-tlb")
    assert r["status"] == "pass"
    assert r["measured"] == recorded_symbol(name, "_end") - KERNBASE_SPARC64
    # the 2.6.24-era 8 MiB rule does not apply to a 6.1 kernel
    assert "sparc64.image-8mib" in doc["not_applicable"]
    assert result(doc, "sparc64.pageflags-nr-cpus")["status"] == "pass"


@pytest.mark.realkernel
def test_shared_sparc64_config_alone_is_never_a_false_pass(kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    """Without the image the kernel's size is only known from below: 92 MiB cannot be shown to
    hold, so the verdict is inconclusive (exit 0), and exit 1 with --fail-on inconclusive."""
    cfg = str(need_shared() / "sparc64-tiny-nr64" / "config")
    doc = json_of(["check", "--config", cfg], rc=0)
    r = result(doc, "sparc64.image-locked-tlb")
    assert r["status"] == "inconclusive"
    assert "image_extent" in doc["inputs"]["lower_bound_measures"]
    assert r["measured"] < 92 * 2**20
    json_of(["check", "--config", cfg, "--fail-on", "inconclusive"], rc=1)


@pytest.mark.realkernel
def test_sweep_without_vmemmap_never_offers_more_than_256(kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    """../shared/kernels/README.md: this config (no SPARSEMEM_VMEMMAP) does not build above 256
    CPUs (the page-flags BUILD_BUG_ON in arch/sparc/mm/init_64.c). 6.1's range is 2..4096
    (arch/sparc/Kconfig:181)."""
    cfg = need_shared() / "sparc64-tiny-nr64" / "config"
    assert "# CONFIG_SPARSEMEM_VMEMMAP is not set" in cfg.read_text()
    for args in (["sweep", "--config", str(cfg)], ["sweep", str(kernel_vmlinux("sparc64-tiny-nr64"))]):
        doc = json_of(args, rc=0)
        assert doc["range"] == {"from": 2, "to": 4096}
        assert doc["not_building"] == [
            {"from": 257, "to": 4096, "reason": "the sparc64 page-flags BUILD_BUG_ON (arch/sparc/mm/init_64.c) fails"}]
        assert doc["fits"], "the database's 92 MiB rule must be swept"
        for f in doc["fits"]:
            assert f["largest_fitting"] is None or f["largest_fitting"] <= 256, f
        assert any(f["rule"] == "sweep.does-not-build" for f in doc["findings"])


@pytest.mark.realkernel
def test_nr_cpus_derived_from_an_nr_cpus_array(kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    """trap_block is `struct trap_per_cpu trap_block[NR_CPUS]` of 256 bytes each
    (arch/sparc/include/asm/trap_block.h:56 and TRAP_BLOCK_SZ_SHIFT 8 at line 116); its size in
    the recorded nm output: 0x4000 (nr64) and 0x10000 (nr256)."""
    from cpualloc_cli.adapters.image import load_image
    from cpualloc_cli.analysis.engine import derive_nr_cpus

    for name in ("sparc64-tiny-nr64", "sparc64-tiny-nr256"):
        nm = (need_shared() / name / "nm.txt").read_text()
        size = int(next(line.split()[1] for line in nm.splitlines() if line.endswith(" trap_block")), 16)
        nr, source = derive_nr_cpus(load_image(str(kernel_vmlinux(name))))
        assert nr == size // 256 == int(config_value(need_shared() / name / "config", "NR_CPUS"))
        assert source is not None and source.startswith("derived: sizeof(trap_block)")


@pytest.mark.realkernel
def test_image_alone_reads_its_version_and_config(kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    doc = json_of(["check", str(kernel_vmlinux("sparc64-tiny-nr256"))], rc=0)
    inputs = doc["inputs"]
    assert inputs["kernel_version"] == "6.1.192"
    assert inputs["config_source"] == "image IKCONFIG"  # CONFIG_IKCONFIG=y (README)
    assert inputs["nr_cpus"] == 256


@pytest.mark.realkernel
def test_footprint_states_its_possible_cpus_default(kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    doc = json_of(["footprint", str(kernel_vmlinux("sparc64-tiny-nr256")), "--design", "percpu"], rc=0)
    facts = {f["name"]: f for f in doc["inputs"]}
    assert facts["nr_cpus"]["value"] == 256
    assert facts["possible_cpus"]["value"] == 64 and facts["possible_cpus"]["provenance"] == "assumed default"
    assert "at most" in facts["percpu_resident_at_nr_cpus"]["note"]
    doc = json_of(["footprint", str(kernel_vmlinux("sparc64-tiny-nr256")), "--design", "percpu",
                   "--possible-cpus", "4"], rc=0)
    facts = {f["name"]: f for f in doc["inputs"]}
    assert facts["possible_cpus"]["value"] == 4 and facts["possible_cpus"]["provenance"] == "from command line"


# --- a modern .config against the bundled model: values kept ---------------------------------------

def _debian_config() -> Path:
    """Debian's shipped amd64 config (linux-config-6.1, which .ci/run installs)."""
    src = Path("/usr/src/linux-config-6.1/config.amd64_none_amd64.xz")
    if not src.is_file():
        if os.environ.get("CPUALLOC_REQUIRE_REAL"):
            pytest.fail(f"CPUALLOC_REQUIRE_REAL is set but {src} is missing (apt-get install linux-config-6.1)")
        pytest.skip("Debian's linux-config-6.1 is not installed")
    return src


def test_modern_config_keeps_its_values(tmp_path: Path) -> None:
    text = lzma.decompress(_debian_config().read_bytes())
    plain = tmp_path / "config"
    plain.write_bytes(text)
    assert re.search(rb"^CONFIG_NR_CPUS=8192$", text, re.M)
    for path in (plain, tmp_path / "config.gz"):
        if path.suffix == ".gz":
            path.write_bytes(gzip.compress(text))  # as /proc/config.gz
        doc = json_of(["config", "--config", str(path)], rc=0)
        assert doc["symbols"]["NR_CPUS"]["value"] == doc["values"]["NR_CPUS"] == "8192"
        assert doc["symbols"]["NR_CPUS"]["origin"] == "file"
        assert doc["kernel_version"].startswith("6.1.")


def test_fragment_for_a_modern_kernel_is_applied_with_a_warning() -> None:
    doc = json_of(["config", "--arch", "x86_64", "--kernel-version", "6.1", "--set", "NR_CPUS=8192"], rc=0)
    assert doc["symbols"]["NR_CPUS"]["value"] == "8192"
    assert any(f["rule"] == "config.not-checked" for f in doc["findings"])
    # the bundled model still serves its own era: 2.6.24 x86_64 tops out at 255
    doc = json_of(["config", "--arch", "i386", "--set", "NR_CPUS=256"], rc=0)
    assert doc["symbols"]["NR_CPUS"]["value"] != "256"


# --- Debian's 6.1 amd64 kernel -----------------------------------------------------------------------

def _debian_boot() -> Path:
    """The /boot of Debian's linux-image-6.1.0-*-amd64-unsigned package, extracted by .ci/run
    (CPUALLOC_DEBIAN_KERNEL_DIR = the package root)."""
    root = os.environ.get("CPUALLOC_DEBIAN_KERNEL_DIR")
    if not root:
        if os.environ.get("CPUALLOC_REQUIRE_REAL"):
            pytest.fail("CPUALLOC_REQUIRE_REAL is set but CPUALLOC_DEBIAN_KERNEL_DIR is not")
        pytest.skip("CPUALLOC_DEBIAN_KERNEL_DIR is not set (Debian's linux-image package, extracted)")
    boot = Path(root) / "boot"
    if not any(boot.glob("vmlinuz-*")):
        pytest.fail(f"no vmlinuz in {boot}")
    return boot


def test_debian_amd64_config_and_vmlinuz_fit() -> None:
    boot = _debian_boot()
    vmlinuz = next(boot.glob("vmlinuz-*"))
    config = next(boot.glob("config-*"))
    header = re.search(r"^# Linux/x86 (\S+) Kernel Configuration", config.read_text(), re.M)
    assert header
    doc = json_of(["check", str(vmlinuz), "--config", str(config)], rc=0)
    inputs = doc["inputs"]
    assert inputs["nr_cpus"] == int(config_value(config, "NR_CPUS")) == 8192
    assert inputs["kernel_version"] == header.group(1) and inputs["kernel_version_source"] == ".config header"
    assert result(doc, "x86.kernel-image-size")["status"] == "pass"
    # the image alone: the version comes from its banner ("Linux version 6.1.0-NN-amd64 ...")
    release = vmlinuz.name.removeprefix("vmlinuz-")
    doc = json_of(["check", str(vmlinuz)], rc=0)
    assert doc["inputs"]["kernel_version"] == release and doc["inputs"]["kernel_version_source"] == "image banner"


# --- evidence order ----------------------------------------------------------------------------------

def test_kernel_version_evidence_order() -> None:
    from cpualloc_cli.analysis.engine import ImageFacts, decide_kernel_version
    from cpualloc_cli.model.config import ResolvedConfig

    img = ImageFacts(path="v", measures={}, sources={}, input_kind="kernel", banner_version="6.12.1")
    tree = ResolvedConfig(arch="x86_64", kernel_version="6.1.7", kernel_version_source="srctree Makefile", values={},
                          header_version="6.1.5")
    headed = ResolvedConfig(arch="x86_64", kernel_version="2.6.24", kernel_version_source="bundled model", values={},
                            header_version="6.1.5")
    bundled = ResolvedConfig(arch="x86_64", kernel_version="2.6.24", kernel_version_source="bundled model", values={})
    assert decide_kernel_version("5.4", tree, img) == ("5.4", "--kernel-version")
    assert decide_kernel_version(None, tree, img) == ("6.1.7", "srctree Makefile")
    assert decide_kernel_version(None, headed, img) == ("6.1.5", ".config header")
    assert decide_kernel_version(None, bundled, img) == ("6.12.1", "image banner")
    assert decide_kernel_version(None, bundled, None, "6.1.9") == ("6.1.9", "image IKCONFIG header")
    assert decide_kernel_version(None, bundled, None)[0] == "2.6.24"
    assert decide_kernel_version(None, None, None)[0] is None



@pytest.mark.parametrize("name", ["x86_64-smp", "i686-smp", "aarch64-smp", "arm-smp", "ppc64-smp", "sparc64-smp"])
def test_nr_cpus_derived_from_per_cpu_offset(name: str) -> None:
    """`unsigned long __per_cpu_offset[NR_CPUS]` (include/asm-generic/percpu.h:19): its size in
    GNU nm's recorded output divided by sizeof(long) of the ELF class is NR_CPUS (64 in
    tests/fixtures/elf/src, which these fixtures are built from)."""
    from cpualloc_cli.adapters.image import load_image
    from cpualloc_cli.analysis.engine import derive_nr_cpus

    d = REPO / "tests" / "fixtures" / "elf" / name
    nm = (d / "nm.txt").read_text()
    size = int(next(line.split()[1] for line in nm.splitlines() if line.endswith(" __per_cpu_offset")), 16)
    long_bytes = 8 if len(nm.split()[0]) == 16 else 4
    img = load_image(str(d / "vmlinux"))
    nr, source = derive_nr_cpus(img)
    assert nr == size // long_bytes == 64
    assert source is not None and "__per_cpu_offset" in source


def test_footprint_of_an_image_without_config_uses_the_derived_nr_cpus() -> None:
    vml = REPO / "tests" / "fixtures" / "elf" / "x86_64-smp" / "vmlinux"
    doc = json_of(["footprint", str(vml), "--design", "percpu"], rc=0)
    facts = {f["name"]: f for f in doc["inputs"]}
    assert facts["nr_cpus"]["value"] == 64 and facts["nr_cpus"]["provenance"] == "derived"
    assert "__per_cpu_offset" in facts["nr_cpus"]["note"]


@pytest.mark.realkernel
def test_compressed_image_reads_its_banner() -> None:
    """../shared/kernels/x86_64-tiny/bzImage holds the same 6.1.192 kernel (README), xz-compressed:
    the version comes from the banner in the decompressed payload."""
    bz = need_shared() / "x86_64-tiny" / "bzImage"
    doc = json_of(["check", str(bz)], rc=0)
    assert doc["inputs"]["kernel_version"] == "6.1.192"
    assert doc["inputs"]["kernel_version_source"] == "image banner"
    doc = json_of(["footprint", str(bz)], rc=0)
    facts = {f["name"]: f for f in doc["inputs"]}
    assert facts["kernel_version"]["value"] == "6.1.192" and facts["kernel_version"]["note"] == "image banner"


def test_as_written_reads_like_conf() -> None:
    """Lines as scripts/kconfig/confdata.c writes and reads them: `CONFIG_X=v`, `# CONFIG_X is not
    set`, comments; anything else is a malformed-line finding (at most 100, then one "N more")."""
    from cpualloc_cli.adapters.config_as_written import header_version, is_conf_output, resolve_as_written

    text = ("#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 6.1.192 Kernel Configuration\n#\n"
            'CONFIG_X86_64=y\nCONFIG_NR_CPUS=8192\n# CONFIG_NUMA is not set\nCONFIG_CC_VERSION_TEXT="gcc (x) 12"\n'
            + "garbage\n" * 150)
    assert header_version(text) == "6.1.192" and is_conf_output(text)
    rc, out = resolve_as_written(text=text, display="c", sets=(("NR_CPUS", "64"),), arch="x86_64",
                                 version="6.1.192", version_source=".config header", relevant=("NR_CPUS", "NUMA"))
    assert rc.values["NR_CPUS"] == "64" and rc.values["NUMA"] == "n" and rc.values["CC_VERSION_TEXT"] == "gcc (x) 12"
    assert rc.details["NR_CPUS"].origin.value == "set" and rc.details["NUMA"].origin.value == "file"
    malformed = [f for f in rc.findings if f.rule == "config.malformed-line"]
    assert len(malformed) == 101 and malformed[0].line == 9 and malformed[-1].message.startswith("50 more")
    assert any(f.rule == "config.not-checked" for f in rc.findings)  # --set on a full config: not checked
    assert "CONFIG_NR_CPUS=64" in out.splitlines() and "CONFIG_NR_CPUS=8192" not in out


# --- the 2007 failure, from the config alone -----------------------------------------------------------

def test_the_2007_config_alone_is_an_error_by_the_lower_bound() -> None:
    """samples/sparc64-nr64-static.config: sparc64, cpu_alloc static, NR_CPUS=64, 8 KiB pages,
    CPU_AREA_ORDER 4: the cpu area alone is 64 x (8 KiB << 4) = 8 MiB. Any sparc64 kernel's
    loader extent is more than 16 KiB (_text is linked at 0x404000 while the loader maps from
    KERNBASE 0x400000: arch/sparc/kernel/vmlinux.lds.S:18, arch/sparc/include/asm/head_64.h:15),
    so the extent is at least 8 MiB + 16 KiB > 8 MiB: the machine did not boot, and cpualloc says
    so before any build."""
    doc = json_of(["check", "--config", str(SAMPLES / "sparc64-nr64-static.config")], rc=1)
    r = result(doc, "sparc64.image-8mib")
    assert r["status"] == "fail" and r["severity"] == "error"
    assert r["measured"] >= 64 * (8192 << 4) + 0x4000 > 8 * 2**20
    assert "image_extent" in doc["inputs"]["lower_bound_measures"]
    assert "lower bound" in doc["inputs"]["base"]
    assert r["fixes"][0]["kind"] == "cause"
    assert r["fixes"][0]["text"].endswith("the kernel without it is at least 16.00 KiB")
