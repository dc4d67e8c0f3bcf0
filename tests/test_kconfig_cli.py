"""`cpualloc config` end to end (subprocess): output, exit codes, bad input, safety."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from conftest import run_cli


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(tmp_path / "cache")}


def test_config_json_bundled(env: dict[str, str]) -> None:
    rc, out, err = run_cli(["config", "--arch", "sparc64", "--set", "NR_CPUS=4096", "--format", "json"], env)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "config" and doc["schema_version"] == 1 and doc["tool"]["name"] == "cpualloc"
    # 2.6.24 sparc64: range 2 1024, default "64": 4096 is out of range, the default is used
    assert doc["symbols"]["NR_CPUS"]["value"] == "64"
    assert doc["symbols"]["NR_CPUS"]["range"] == [2, 1024]
    assert doc["symbols"]["NR_CPUS"]["given"] == "4096"
    assert doc["percpu_design"] == "cpu_alloc_static"
    assert doc["values"]["PAGE_SHIFT"] == "13"
    assert [f["rule"] for f in doc["findings"]] == ["config.out-of-range"]
    assert "warning" in err


def test_strict_turns_findings_into_exit_1(env: dict[str, str]) -> None:
    rc, _, _ = run_cli(["config", "--arch", "i386", "--set", "NR_CPUS=256", "--strict"], env)
    assert rc == 1
    rc, _, _ = run_cli(["config", "--arch", "i386", "--set", "NR_CPUS=255", "--strict"], env)
    assert rc == 0


def test_text_report_and_show(env: dict[str, str]) -> None:
    rc, out, err = run_cli(["config", "--arch", "i386", "--show", "CONFIG_X86_BIGSMP", "--show", "NOPE"], env)
    assert rc == 0, err
    assert "NR_CPUS" in out and "X86_BIGSMP" in out and "NOPE" in out and "unknown symbol" in out
    assert "Kconfig.arch:" in out


def test_write_config_and_read_back(tmp_path: Path, env: dict[str, str]) -> None:
    out_cfg = tmp_path / "out.config"
    rc, _, err = run_cli(["config", "--arch", "ia64", "--set", "NR_CPUS=16", "--write-config", str(out_cfg)], env)
    assert rc == 0, err
    text = out_cfg.read_text()
    assert "CONFIG_ARCH_IA64=y\n" in text and "CONFIG_NR_CPUS=16\n" in text and "CONFIG_CPU_AREA_ORDER=13\n" in text
    # feeding it back reproduces it
    rc, out, _ = run_cli(["config", "--config", str(out_cfg), "--format", "json"], env)
    doc = json.loads(out)
    assert rc == 0 and doc["arch"] == "ia64" and doc["symbols"]["NR_CPUS"]["origin"] == "file"
    # /proc/config.gz style input (gzip)
    gz = tmp_path / "config.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    rc, out, _ = run_cli(["config", "--config", str(gz), "--format", "json"], env)
    assert rc == 0 and json.loads(out)["symbols"]["NR_CPUS"]["value"] == "16"


@pytest.mark.parametrize("content,line", [
    (b"CONFIG_SMP=y\nCONFIG_NR\x00CPUS=4\n", 2),  # NUL byte
    (b"CONFIG_SMP=y\nCONFIG_LOCALVERSION=\"\xff\xfe\"\n", 2),  # invalid UTF-8
    (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)), 1),  # binary garbage
])
def test_undecodable_config_exits_3(tmp_path: Path, env: dict[str, str], content: bytes, line: int) -> None:
    p = tmp_path / "bad.config"
    p.write_bytes(content)
    out_cfg = tmp_path / "never.config"
    rc, out, err = run_cli(["config", "--config", str(p), "--write-config", str(out_cfg)], env)
    assert rc == 3
    assert err.startswith(f"cpualloc: error: {p}:{line}: ") and "Traceback" not in err
    assert out == "" and not out_cfg.exists()


def test_missing_and_directory_config_exit_3(tmp_path: Path, env: dict[str, str]) -> None:
    rc, _, err = run_cli(["config", "--config", str(tmp_path / "missing")], env)
    assert rc == 3 and "cpualloc: error:" in err and "missing" in err
    rc, _, err = run_cli(["config", "--config", str(tmp_path)], env)
    assert rc == 3 and "directory" in err


def test_bad_set_is_usage_error(env: dict[str, str]) -> None:
    rc, _, _ = run_cli(["config", "--set", "NR_CPUS"], env)
    assert rc == 2


def test_unterminated_quote_in_config_is_a_finding(tmp_path: Path, env: dict[str, str]) -> None:
    # A .config is data: a malformed string literal is a warning, as in conf (exit 0, or 1 with --strict)
    p = tmp_path / "q.config"
    p.write_text('CONFIG_SMP=y\nCONFIG_KERNEL_VERSION="2.6\n')
    rc, out, _ = run_cli(["config", "--arch", "x86_64", "--config", str(p), "--format", "json"], env)
    assert rc == 0
    assert any(f["rule"] == "config.kconfiglib-warning" and "malformed string" in f["message"]
               for f in json.loads(out)["findings"])
    rc, _, _ = run_cli(["config", "--arch", "x86_64", "--config", str(p), "--strict"], env)
    assert rc == 1


def _tree(tmp_path: Path, kconfig: str | bytes, extra: dict[str, str] | None = None) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir(exist_ok=True)
    (tree / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\nEXTRAVERSION =\n")
    data = kconfig.encode() if isinstance(kconfig, str) else kconfig
    (tree / "Kconfig").write_bytes(data)
    for name, text in (extra or {}).items():
        (tree / name).write_text(text)
    return tree


@pytest.mark.parametrize("kconfig,extra,line,file", [
    ('config A\n\tbool "unterminated\n', None, 2, "Kconfig"),
    (b"config A\n\tbool \"ok\"\n\x00\x01\x02\xff garbage\n", None, 3, "Kconfig"),
    (b"config A\n\tbool \"caf\xe9\"\n", None, 2, "Kconfig"),
    ('source "b/Kconfig"\n', {"b": ""}, 1, "b/Kconfig"),
])
def test_bad_kconfig_exits_3_with_file_line(tmp_path: Path, env: dict[str, str], kconfig: str | bytes,
                                            extra: dict[str, str] | None, line: int, file: str) -> None:
    if extra:
        (tmp_path / "tree" / "b").mkdir(parents=True)
        extra = {"b/Kconfig": 'config B\n\tbool\nsource "Kconfig"\n'}
    tree = _tree(tmp_path, kconfig, extra)
    rc, out, err = run_cli(["config", "--srctree", str(tree), "--arch", "x86_64"], env)
    assert rc == 3, err
    assert "Traceback" not in err and out == ""
    assert err.startswith("cpualloc: error: ")
    assert f"{file}:{line}:" in err or (file == "b/Kconfig" and "recursive" in err and ":" in err)


def test_deep_nesting_is_bounded(tmp_path: Path, env: dict[str, str]) -> None:
    deep = "(" * 20000 + "A" + ")" * 20000
    tree = _tree(tmp_path, f'config A\n\tbool "a"\nconfig B\n\tbool "b"\n\tdepends on {deep}\n')
    rc, _, err = run_cli(["config", "--srctree", str(tree), "--arch", "x86_64"], env)
    assert rc == 3 and "Traceback" not in err and "nested too deeply" in err


def test_shell_not_run_without_allow_shell(tmp_path: Path, env: dict[str, str]) -> None:
    marker = tmp_path / "marker"
    kconfig = (f'config PROBE\n\tstring\n\tdefault "$(shell,touch {marker})"\n'
               f'config FLAG\n\tdef_bool $(shell,touch {marker}.2 && echo y)\n')
    tree = _tree(tmp_path, kconfig)
    rc, out, err = run_cli(["config", "--srctree", str(tree), "--arch", "x86_64", "--format", "json",
                            "--show", "FLAG"], env)
    assert rc == 0, err
    assert not marker.exists() and not Path(f"{marker}.2").exists()
    doc = json.loads(out)
    assert {p["status"] for p in doc["probes"]} == {"not available"}
    assert doc["symbols"]["FLAG"]["value"] == "n" and doc["symbols"]["FLAG"]["origin"] == "not available"
    # replayed from the .config when it records the probe symbol
    cfg = tmp_path / "c.config"
    cfg.write_text("CONFIG_FLAG=y\n")
    rc, out, _ = run_cli(["config", "--srctree", str(tree), "--arch", "x86_64", "--config", str(cfg),
                          "--format", "json", "--show", "FLAG"], env)
    doc = json.loads(out)
    assert doc["symbols"]["FLAG"]["value"] == "y" and doc["symbols"]["FLAG"]["origin"] == "probe replayed from .config"
    assert not marker.exists()
    # and it does run with --allow-shell (so this test can fail)
    rc, out, err = run_cli(["config", "--srctree", str(tree), "--arch", "x86_64", "--allow-shell", "--format", "json",
                            "--show", "FLAG"], env)
    assert rc == 0, err
    assert marker.exists() and json.loads(out)["symbols"]["FLAG"]["value"] == "y"


def test_kconfig_functions_env_is_not_imported(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "evil_fns.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\nfunctions = {{}}\n")
    tree = _tree(tmp_path, 'config A\n\tbool "a"\n')
    rc, _, err = run_cli(["config", "--srctree", str(tree), "--arch", "x86_64"],
                         {**env, "KCONFIG_FUNCTIONS": "evil_fns", "PYTHONPATH": str(tmp_path)})
    assert rc == 0, err
    assert not (tmp_path / "imported").exists()


def test_modules_keyword_and_transitional(tmp_path: Path, env: dict[str, str]) -> None:
    # Linux >= 5.13 `modules` (kernel/module/Kconfig:4) and 6.18 `transitional`
    kconfig = ('config MODULES\n\tbool "modules"\n\tmodules\n'
               'config DRV\n\ttristate "a driver"\n'
               'config OLD_NAME\n\tbool\n\ttransitional\n'
               'config NEW_NAME\n\tbool "new"\n\tdefault OLD_NAME\n')
    tree = _tree(tmp_path, kconfig)
    cfg = tmp_path / "c.config"
    cfg.write_text("CONFIG_MODULES=y\nCONFIG_DRV=m\n")
    out_cfg = tmp_path / "out.config"
    rc, out, err = run_cli(["config", "--srctree", str(tree), "--arch", "x86_64", "--config", str(cfg),
                            "--show", "DRV", "--format", "json", "--write-config", str(out_cfg)], env)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["symbols"]["DRV"]["value"] == "m"  # m only exists when MODULES is the modules symbol
    assert "OLD_NAME" not in out_cfg.read_text() and "# CONFIG_NEW_NAME is not set" in out_cfg.read_text()
    assert any("transitional" in u for u in doc["unsupported"])
    # an old .config that still says OLD_NAME=y: read (NEW_NAME's default follows it), not written
    cfg.write_text("CONFIG_MODULES=y\nCONFIG_OLD_NAME=y\n")
    rc, out, err = run_cli(["config", "--srctree", str(tree), "--arch", "x86_64", "--config", str(cfg),
                            "--show", "NEW_NAME", "--format", "json", "--write-config", str(out_cfg), "--strict"], env)
    assert rc == 0, err
    assert json.loads(out)["symbols"]["NEW_NAME"]["value"] == "y"
    assert "OLD_NAME" not in out_cfg.read_text() and "CONFIG_NEW_NAME=y" in out_cfg.read_text()


def test_srctree_version_and_kernel_version_override(tmp_path: Path, env: dict[str, str]) -> None:
    tree = _tree(tmp_path, 'config A\n\tbool "a"\n')
    rc, out, _ = run_cli(["config", "--srctree", str(tree), "--arch", "x86_64", "--format", "json"], env)
    doc = json.loads(out)
    assert (doc["kernel_version"], doc["kernel_version_source"]) == ("6.1.0", "srctree Makefile")
    rc, out, _ = run_cli(["config", "--arch", "x86_64", "--kernel-version", "3.14", "--format", "json"], env)
    doc = json.loads(out)
    assert (doc["kernel_version"], doc["kernel_version_source"]) == ("3.14", "--kernel-version")


def test_cache_is_used_and_foreign_cache_ignored(tmp_path: Path, env: dict[str, str]) -> None:
    tree = _tree(tmp_path, 'config A\n\tbool "a"\n\tdefault y\n')
    args = ["config", "--srctree", str(tree), "--arch", "x86_64", "--format", "json", "--show", "A"]
    rc, out, _ = run_cli(args, env)
    assert rc == 0 and json.loads(out)["symbols"]["A"]["value"] == "y"
    cache = Path(env["XDG_CACHE_HOME"]) / "cpualloc" / "kconfig"
    [entry] = list(cache.glob("*.pickle"))
    # a changed Kconfig file invalidates the entry
    (tree / "Kconfig").write_text('config A\n\tbool "a"\n\tdefault n\n')
    rc, out, _ = run_cli(args, env)
    assert json.loads(out)["symbols"]["A"]["value"] == "n"
    # a tampered entry is never loaded (checksum), and never crashes
    for e in cache.glob("*.pickle"):
        data = bytearray(e.read_bytes())
        data[-10] ^= 0xFF
        e.write_bytes(bytes(data))
    rc, out, err = run_cli(args, env)
    assert rc == 0 and json.loads(out)["symbols"]["A"]["value"] == "n", err
    # a world-writable entry is not ours to trust
    for e in cache.glob("*.pickle"):
        os.chmod(e, 0o666)
    rc, out, _ = run_cli(args, env)
    assert rc == 0 and json.loads(out)["symbols"]["A"]["value"] == "n"
    assert entry.parent == cache


def test_config_from_image(kernel_vmlinux, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    # ../shared/kernels/README.md: sparc64-tiny-nr64 is tinyconfig + SMP=y, NR_CPUS=64, IKCONFIG=y,
    # built from linux-source-6.1 6.1.192; its banner reads "Linux version 6.1.192 (...)"
    vmlinux = kernel_vmlinux("sparc64-tiny-nr64")
    rc, out, err = run_cli(["config", "--config-from", str(vmlinux), "--format", "json"], env)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["arch"] == "sparc64"
    assert doc["symbols"]["NR_CPUS"]["value"] == "64" and doc["symbols"]["NR_CPUS"]["origin"] == "file"
    # the embedded config's own header outranks the banner (both say 6.1.192 here)
    assert (doc["kernel_version"], doc["kernel_version_source"]) == ("6.1.192", ".config header")
    assert doc["config_path"] == f"{vmlinux}:ikconfig"
    # x86_64-tiny has no IKCONFIG: bad input, exit 3
    rc, out, err = run_cli(["config", "--config-from", str(kernel_vmlinux("x86_64-tiny"))], env)
    assert rc == 3 and out == "" and "cpualloc: error:" in err


def test_implied_symbol_with_unmet_dependency_is_written_like_conf(tmp_path: Path, env: dict[str, str]) -> None:
    # scripts/kconfig/symbol.c (sym_calc_value): `if (sym->implied.tri != no) sym->flags |=
    # SYMBOL_WRITE;` -> conf writes "# CONFIG_B is not set" although B's dependency C is n.
    # The 6.12 oracle (tests/test_kconfig_oracle.py) has three such symbols.
    tree = _tree(tmp_path, 'config A\n\tbool "a"\n\tdefault y\n\timply B\n'
                           'config B\n\tbool\n\tdepends on C\nconfig C\n\tbool "c"\n')
    out_cfg = tmp_path / "out.config"
    rc, _, err = run_cli(["config", "--srctree", str(tree), "--arch", "x86_64", "--write-config", str(out_cfg)], env)
    assert rc == 0, err
    lines = out_cfg.read_text().splitlines()
    assert "CONFIG_A=y" in lines and "# CONFIG_B is not set" in lines and "# CONFIG_C is not set" in lines


@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_source_cannot_leave_the_tree(tmp_path: Path, env: dict[str, str], how: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Kconfig").write_text('config OUTSIDE\n\tbool "outside"\n\tdefault y\n')
    target = "../outside/Kconfig" if how == "relative" else str(outside / "Kconfig")
    tree = _tree(tmp_path, f'config A\n\tbool "a"\nsource "{target}"\n')
    rc, out, err = run_cli(["config", "--srctree", str(tree), "--arch", "x86_64", "--show", "OUTSIDE"], env)
    assert rc == 3 and out == ""
    assert err.startswith(f"cpualloc: error: {tree / 'Kconfig'}:3: ") and "leaves the Kconfig tree" in err


def test_deep_nesting_names_the_file(tmp_path: Path, env: dict[str, str]) -> None:
    deep = "(" * 20000 + "A" + ")" * 20000
    tree = _tree(tmp_path, f'config A\n\tbool "a"\nconfig B\n\tbool "b"\n\tdepends on {deep}\n')
    rc, _, err = run_cli(["config", "--srctree", str(tree), "--arch", "x86_64"], env)
    assert rc == 3 and err.startswith(f"cpualloc: error: {tree / 'Kconfig'}:5: ")
