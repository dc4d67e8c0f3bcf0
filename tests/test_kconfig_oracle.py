"""`--write-config` against C conf: `make olddefconfig` of real Linux trees (6.1, and 6.12
when present), recorded by tests/fixtures/kconfig/regen.sh on the inputs stored next to it
(../shared/kernels/*/config and Debian's linux-config-6.1 / -6.12 amd64 configs).

The trees come from CPUALLOC_LINUX_6_1 and CPUALLOC_LINUX_6_12 (.ci/run unpacks both):
skipped when unset, a failure when CPUALLOC_REQUIRE_REAL is set."""

from __future__ import annotations

import lzma
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, need_linux_tree, run_cli

from cpualloc_cli.adapters.kconfig import ConfigRequest, load_resolved_config, run_cc_version_text

HERE = FIXTURES / "kconfig"


def symbols(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = re.fullmatch(r"CONFIG_(\w+)=(.*)", line)
        if m:
            out[m.group(1)] = m.group(2)
            continue
        m = re.fullmatch(r"# CONFIG_(\w+) is not set", line)
        if m:
            out[m.group(1)] = "n"
    return out


def diff(ours: dict[str, str], conf: dict[str, str]) -> dict[str, tuple[str | None, str | None]]:
    return {k: (ours.get(k), conf.get(k)) for k in sorted(set(ours) | set(conf)) if ours.get(k) != conf.get(k)}


def fixture(name: str, kind: str) -> str:
    return lzma.decompress((HERE / f"{name}.{kind}.xz").read_bytes()).decode()


def recorded_env(name: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in (HERE / f"{name}.env").read_text().splitlines() if "=" in line)


def tree_version(src: str) -> str:
    """`make kernelversion` of the tree, read from its Makefile (VERSION.PATCHLEVEL.SUBLEVEL)."""
    head = (Path(src) / "Makefile").read_text(errors="replace")[:2000]
    parts = [re.search(rf"^{k}\s*=\s*(\S*)", head, re.M) for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL")]
    extra = re.search(r"^EXTRAVERSION\s*=\s*(\S*)", head, re.M)
    return ".".join(m.group(1) for m in parts if m) + (extra.group(1) if extra else "")


_LIVE: dict[tuple[str, str], str] = {}


def oracle_text(name: str, src: str) -> str:
    """conf's `make olddefconfig` output for the case: the recorded one when the tree is the
    release it was recorded on; else (a newer point release of the same Debian package, whose
    Kconfig changed) Linux's own conf run now on this tree, the same oracle, in this run."""
    env = recorded_env(name)
    if tree_version(src) == env["LINUX"]:
        return fixture(name, "olddefconfig")
    key = (name, src)
    if key not in _LIVE:
        missing = [t for t in ("make", "gcc", "flex", "bison") if shutil.which(t) is None]
        if missing:
            pytest.skip(f"the tree is {tree_version(src)}, the recorded oracle is of {env['LINUX']}, and running "
                        f"conf here needs {', '.join(missing)}")
        import tempfile

        with tempfile.TemporaryDirectory(prefix="cpualloc-conf-oracle-") as out:
            (Path(out) / ".config").write_text(fixture(name, "input"))
            subprocess.run(["make", "-s", "-C", src, f"O={out}", f"ARCH={env['ARCH']}",
                            f"CROSS_COMPILE={env['CROSS_COMPILE']}", "olddefconfig"],
                           check=True, capture_output=True, text=True)
            _LIVE[key] = (Path(out) / ".config").read_text()
    return _LIVE[key]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


# Without --allow-shell the probes are replayed from the input .config. Every symbol where
# that differs from conf on the recording machine, with the reason:
_PAHOLE = "the input .config records pahole 1.24 (Debian's build machine); the oracle machine has no pahole"
_PAHOLE_DEP = "follows PAHOLE_HAS_SPLIT_BTF / PAHOLE_VERSION replayed from the input .config (" + _PAHOLE + ")"
NO_SHELL_DIFFERENCES: dict[str, dict[str, str]] = {
    "x86_64-tiny": {},
    "sparc64-tiny-nr64": {},
    "debian-amd64": {
        "CC_VERSION_TEXT": "replayed from the input .config (Debian built with gcc-12); conf ran `gcc --version`",
        "PAHOLE_VERSION": _PAHOLE,
        "PAHOLE_HAS_SPLIT_BTF": _PAHOLE,
        "PAHOLE_HAS_LANG_EXCLUDE": _PAHOLE,
        "DEBUG_INFO_BTF_MODULES": _PAHOLE_DEP,
        "MODULE_ALLOW_BTF_MISMATCH": _PAHOLE_DEP,
    },
    # STACKPROTECTOR, STACKPROTECTOR_STRONG and HAVE_STACKPROTECTOR are not here: the probe sits
    # in `select HAVE_STACKPROTECTOR if PPC64 && $(cc-option,...)` (arch/powerpc/Kconfig:257) and
    # is replayed from the .config recording HAVE_STACKPROTECTOR=y (issue 18).
    "debian-ppc64el": {
        "CC_VERSION_TEXT": "replayed from the input .config (Debian built with gcc-12); conf ran "
                           "`powerpc64le-linux-gnu-gcc --version`",
        "PAHOLE_VERSION": _PAHOLE,
        "PAHOLE_HAS_SPLIT_BTF": _PAHOLE,
        "PAHOLE_HAS_LANG_EXCLUDE": _PAHOLE,
    },
}

# C conf writes "# CONFIG_X is not set" for a bool that something `imply`s even when its own
# dependencies are unmet; kconfiglib 14.1.0 does not. The adapter does what conf does; 6.12's
# Debian config has such symbols (6.1's fixtures have none).
IMPLIED_UNMET_6_12 = {"HARDLOCKUP_DETECTOR_ARCH", "HARDLOCKUP_DETECTOR_BUDDY", "NVMEM_LAYOUTS"}
NO_SHELL_DIFFERENCES_6_12 = {
    "CC_VERSION_TEXT": "replayed from the input .config (Debian built with x86_64-linux-gnu-gcc-12)",
    "PAHOLE_VERSION": _PAHOLE,
    "PAHOLE_HAS_SPLIT_BTF": _PAHOLE,
    "PAHOLE_HAS_LANG_EXCLUDE": _PAHOLE,
    "DEBUG_INFO_BTF": _PAHOLE_DEP,
    "DEBUG_INFO_BTF_MODULES": _PAHOLE_DEP,
    "MODULE_ALLOW_BTF_MISMATCH": _PAHOLE_DEP,
    "PROBE_EVENTS_BTF_ARGS": _PAHOLE_DEP,
    "SCHED_CLASS_EXT": "depends on DEBUG_INFO_BTF (" + _PAHOLE_DEP + ")",
    "RUSTC_VERSION": "the input .config records no rustc (Debian); the oracle machine has rustc 1.95",
    "RUSTC_LLVM_VERSION": "as RUSTC_VERSION",
    "RUSTC_HAS_UNNECESSARY_TRANSMUTES": "as RUSTC_VERSION",
}

CASES_6_1 = [("x86_64-tiny", "x86_64"), ("sparc64-tiny-nr64", "sparc64"), ("debian-amd64", "x86_64"),
             ("debian-ppc64el", "powerpc64")]


@pytest.mark.srctree
@pytest.mark.parametrize("name,arch", CASES_6_1)
def test_6_1_without_shell_matches_conf_except_listed(name: str, arch: str) -> None:
    src = need_linux_tree("CPUALLOC_LINUX_6_1")
    loaded = load_resolved_config(ConfigRequest(arch=arch, config_text=fixture(name, "input"),
                                                config_display=f"{name}.config", srctree=src))
    got = diff(symbols(loaded.config_text), symbols(oracle_text(name, src)))
    assert set(got) == set(NO_SHELL_DIFFERENCES[name]), got
    assert loaded.resolved.kernel_version.startswith("6.1.")
    assert any(p.status == "replayed" for p in loaded.resolved.probes)


def _same_toolchain(name: str, cc: str) -> None:
    env = recorded_env(name)
    if shutil.which(cc.split()[0]) is None:
        pytest.skip(f"{cc} is not installed: --allow-shell needs the oracle's compiler")
    now = run_cc_version_text(cc)
    if now != env["CC_VERSION_TEXT"]:
        pytest.skip(f"compiler differs from the oracle's ({now!r} vs {env['CC_VERSION_TEXT']!r})")
    oracle = symbols(fixture(name, "olddefconfig"))
    if (oracle.get("PAHOLE_VERSION", "0") == "0") != (shutil.which("pahole") is None):
        pytest.skip("pahole presence differs from the oracle machine")
    if (oracle.get("RUSTC_VERSION", "0") == "0") != (shutil.which("rustc") is None) and "RUSTC_VERSION" in oracle:
        pytest.skip("rustc presence differs from the oracle machine")
    # CC_CAN_LINK is scripts/cc-can-link.sh: can the compiler link a hello world (a cross
    # compiler needs its arch's libc6-dev-*-cross, which .ci/run installs)
    probe = subprocess.run([*cc.split(), "-x", "c", "-", "-o", "/dev/null"], capture_output=True, check=False,
                           input=b'#include <stdio.h>\nint main(void)\n{\n\tprintf("");\n\treturn 0;\n}\n')
    if (oracle.get("CC_CAN_LINK") == "y") != (probe.returncode == 0):
        pytest.skip(f"{cc} {'cannot' if probe.returncode else 'can'} link a program here, unlike on the oracle machine")


@pytest.mark.srctree
@pytest.mark.slow
@pytest.mark.parametrize("name,arch,cc", [("x86_64-tiny", "x86_64", "gcc"),
                                          ("sparc64-tiny-nr64", "sparc64", "sparc64-linux-gnu-gcc"),
                                          ("debian-amd64", "x86_64", "gcc"),
                                          ("debian-ppc64el", "powerpc64", "powerpc64le-linux-gnu-gcc")])
def test_6_1_with_shell_equals_conf_exactly(name: str, arch: str, cc: str) -> None:
    src = need_linux_tree("CPUALLOC_LINUX_6_1")
    _same_toolchain(name, cc)
    cross = recorded_env(name)["CROSS_COMPILE"]
    loaded = load_resolved_config(ConfigRequest(arch=arch, config_text=fixture(name, "input"),
                                                config_display=f"{name}.config", srctree=src, allow_shell=True,
                                                cross_compile=cross or None))
    assert diff(symbols(loaded.config_text), symbols(oracle_text(name, src))) == {}
    # and byte for byte: header, menu comments, order
    assert loaded.config_text == oracle_text(name, src)
    assert {p.status for p in loaded.resolved.probes} == {"run"}


@pytest.mark.srctree
def test_6_1_write_config_through_the_cli(tmp_path: Path) -> None:
    src = need_linux_tree("CPUALLOC_LINUX_6_1")
    cfg = tmp_path / "in.config"
    cfg.write_text(fixture("x86_64-tiny", "input"))
    out = tmp_path / "out.config"
    rc, stdout, err = run_cli(["config", "--srctree", src, "--arch", "x86_64", "--config", str(cfg),
                               "--write-config", str(out), "--format", "json"],
                              {"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert rc == 0, err
    assert diff(symbols(out.read_text()), symbols(oracle_text("x86_64-tiny", src))) == {}
    assert '"NR_CPUS"' in stdout


@pytest.mark.srctree
def test_6_1_init_kconfig_needs_probe_values() -> None:
    # init/Kconfig:20-24 (CC_IS_GCC / GCC_VERSION) use $(cc-name)/$(cc-version): without a
    # shell and without a .config they are "not available", and parsing still succeeds
    src = need_linux_tree("CPUALLOC_LINUX_6_1")
    rc = load_resolved_config(ConfigRequest(arch="x86_64", srctree=src, show=("GCC_VERSION", "CC_IS_GCC"))).resolved
    assert rc.values["CC_IS_GCC"] == "n" and rc.values["GCC_VERSION"] == "0"
    assert rc.details["CC_IS_GCC"].origin.value == "not available"
    # x86_64 6.1 (arch/x86/Kconfig:418): SMP has no default -> n; NR_CPUS_DEFAULT
    # "default 1 if !SMP" -> NR_CPUS 1; with SMP=y "default 64 if SMP" -> 64
    assert rc.values["SMP"] == "n" and rc.values["NR_CPUS"] == "1"
    rc = load_resolved_config(ConfigRequest(arch="x86_64", srctree=src, sets=(("SMP", "y"),))).resolved
    assert rc.values["NR_CPUS"] == "64"


@pytest.mark.srctree
@pytest.mark.slow
@pytest.mark.parametrize("shell", [False, True])
def test_6_12(shell: bool) -> None:
    src = need_linux_tree("CPUALLOC_LINUX_6_12")
    name = "debian-amd64-6.12"
    if shell:
        _same_toolchain(name, "gcc")
        oracle = symbols(oracle_text(name, src))
        if oracle.get("RUSTC_VERSION", "0") != "0":
            proc = subprocess.run(["rustc", "--version"], capture_output=True, text=True, check=False)
            if "1.95" not in proc.stdout:
                pytest.skip("rustc version differs from the oracle machine")
    loaded = load_resolved_config(ConfigRequest(arch="x86_64", config_text=fixture(name, "input"),
                                                config_display=f"{name}.config", srctree=src, allow_shell=shell))
    ours = symbols(loaded.config_text)
    got = diff(ours, symbols(oracle_text(name, src)))
    assert set(got) == (set() if shell else set(NO_SHELL_DIFFERENCES_6_12)), got
    if shell:
        assert loaded.config_text == oracle_text(name, src)
    for sym in IMPLIED_UNMET_6_12:
        assert ours[sym] == "n"
    assert loaded.resolved.kernel_version.startswith("6.12.")
