"""The resolved-configuration cache (adapters/resolvedcache.py): a hit gives exactly what a fresh
parse and resolution give (the uncached run is the oracle), any change to a Kconfig file's
content, the config or the environment is a miss, and a tampered or malformed entry is a miss,
never a crash and never code."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import need_linux_tree
from test_hostile_kconfig import make

from cpualloc_cli.adapters import resolvedcache, securecache
from cpualloc_cli.adapters.kconfig import ConfigRequest, LoadedConfig, load_resolved_config

KCONFIG = 'config NR\n\tint "nr"\n\trange 1 64\n\tdefault 4\nconfig X\n\tbool "x"\n\tdefault y\n'


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


def _same(a: LoadedConfig, b: LoadedConfig) -> None:
    assert a.resolved == b.resolved
    assert a.config_text == b.config_text
    assert a.env == b.env


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "cpualloc" / resolvedcache.STORE_NAME).glob("*.json"))


def test_bundled_hit_equals_uncached(_private_cache: Path) -> None:
    req = ConfigRequest(arch="sparc64", sets=(("NR_CPUS", "4096"),))
    fresh = load_resolved_config(dataclass_replace(req, use_cache=False))
    first = load_resolved_config(req)
    second = load_resolved_config(req)
    assert second.resolved_from_cache and len(_entries(_private_cache)) == 1
    _same(fresh, first)
    _same(fresh, second)


def dataclass_replace(req: ConfigRequest, **kw: object) -> ConfigRequest:
    import dataclasses

    return dataclasses.replace(req, **kw)  # type: ignore[arg-type]


def test_real_tree_hit_equals_uncached() -> None:
    tree = need_linux_tree()
    req = ConfigRequest(arch="x86_64", srctree=tree, config_text="CONFIG_SMP=y\nCONFIG_NR_CPUS=16\n", config_display="in.config")
    fresh = load_resolved_config(dataclass_replace(req, use_cache=False))
    load_resolved_config(req)
    hit = load_resolved_config(req)
    assert hit.resolved_from_cache
    _same(fresh, hit)
    # arch/x86/Kconfig: with SMP and without MAXSMP, NR_CPUS ranges 2..512 (NR_CPUS_RANGE_BEGIN/END): 16 is taken
    assert hit.resolved.values["NR_CPUS"] == "16"


def test_same_size_same_mtime_edit_invalidates(tmp_path: Path) -> None:
    tree = make.tree(tmp_path, "t", KCONFIG)
    req = ConfigRequest(arch="x86_64", srctree=str(tree))
    assert load_resolved_config(req).resolved.values["NR"] == "4"
    assert load_resolved_config(req).resolved_from_cache
    top = tree / "Kconfig"
    st = top.stat()
    top.write_text(KCONFIG.replace("default 4", "default 5"))  # same size
    os.utime(top, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the same mtime: only content tells
    again = load_resolved_config(req)
    assert not again.resolved_from_cache and again.resolved.values["NR"] == "5"


def test_config_and_env_changes_are_misses(tmp_path: Path) -> None:
    tree = make.tree(tmp_path, "t", KCONFIG)
    req = ConfigRequest(arch="x86_64", srctree=str(tree), config_text="CONFIG_NR=8\n", config_display="c")
    assert load_resolved_config(req).resolved.values["NR"] == "8"
    assert load_resolved_config(req).resolved_from_cache
    other = load_resolved_config(dataclass_replace(req, config_text="CONFIG_NR=9\n"))
    assert not other.resolved_from_cache and other.resolved.values["NR"] == "9"
    env = load_resolved_config(dataclass_replace(req, env_overrides=(("CC", "clang"),)))
    assert not env.resolved_from_cache and env.env["CC"] == "clang"
    cross = load_resolved_config(dataclass_replace(req, cross_compile="sparc64-linux-gnu-"))
    assert not cross.resolved_from_cache


@pytest.mark.parametrize("how", ["flip", "truncate", "garbage"])
def test_tampered_entry_is_a_miss(tmp_path: Path, _private_cache: Path, how: str) -> None:
    tree = make.tree(tmp_path, "t", KCONFIG)
    req = ConfigRequest(arch="x86_64", srctree=str(tree))
    fresh = load_resolved_config(req)
    [entry] = _entries(_private_cache)
    data = entry.read_bytes()
    if how == "flip":
        i = data.index(b'"NR"') + 1
        data = data[:i] + b"Q" + data[i + 1:]
    elif how == "truncate":
        data = data[: len(data) // 2]
    else:
        data = b"\x80\x04cos\nsystem\n(S'touch pwned'\ntR."  # a pickle: never loaded
    entry.write_bytes(data)
    again = load_resolved_config(req)
    assert not again.resolved_from_cache
    _same(fresh, again)
    assert not (tmp_path / "pwned").exists()


def test_authenticated_but_malformed_entry_is_a_miss(tmp_path: Path, _private_cache: Path) -> None:
    """An entry with a valid MAC (written through the store, as a cpualloc bug or an older
    format would) whose fields have the wrong types is refused by the field checks."""
    tree = make.tree(tmp_path, "t", KCONFIG)
    req = ConfigRequest(arch="x86_64", srctree=str(tree))
    fresh = load_resolved_config(req)
    [entry] = _entries(_private_cache)
    store = securecache.open_store(resolvedcache.STORE_NAME, _private_cache / "cpualloc")
    assert store is not None
    with store:
        body = store.get(entry.name, resolvedcache.ENTRY_CAP_BYTES)
        assert body is not None
        doc = json.loads(body)
        doc["loaded"]["values"]["NR"] = ["not", "a", "string"]
        assert store.put(entry.name, json.dumps(doc).encode())
    again = load_resolved_config(req)
    assert not again.resolved_from_cache
    _same(fresh, again)
