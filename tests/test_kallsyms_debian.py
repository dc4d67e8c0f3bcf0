"""kallsyms decoded from Debian's 6.1 amd64 vmlinuz against the System.map of the same build.

The linux-image package's boot/System.map-6.1.0-50-amd64 is an 83-byte placeholder ("The real
System.map is in the linux-image-<version>-dbg package"), so the oracle is the -dbg package's
usr/lib/debug/boot/System.map-6.1.0-50-amd64 (written by the kernel build's scripts/mksysmap
from `nm -n vmlinux`) beside CPUALLOC_DEBIAN_DBG_VMLINUX, or, when the vmlinux sits elsewhere,
GNU `nm -n` run on that vmlinux here. It is filtered by the rules scripts/kallsyms applies before it encodes a symbol
(6.1 scripts/kallsyms.c:103-197 is_ignored_symbol(), 6.1 scripts/kallsyms.c:285-309
symbol_valid(), and 6.1 scripts/kallsyms.c:855-868 make_percpus_absolute(): with
KALLSYMS_ABSOLUTE_PERCPU (x86_64 SMP) every symbol in [__per_cpu_start, __per_cpu_end] (bounds
inclusive, scripts/kallsyms.c:269-283) gets type 'A'; Debian builds with
CONFIG_KALLSYMS_ALL=y, so every remaining symbol is kept):
the filter is tests/test_kallsyms_formats.py's kept_by_kallsyms(), reused here. Compared on
(address, type letter, name). Skips without CPUALLOC_DEBIAN_KERNEL_DIR (the package root) or
CPUALLOC_DEBIAN_DBG_VMLINUX (the -dbg vmlinux).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_kallsyms_formats import agreement, decoded, kept_by_kallsyms

from cpualloc_cli.adapters.image import load_any
from cpualloc_cli.adapters.kallsyms import find_kallsyms

pytestmark = pytest.mark.realkernel

RELEASE = "6.1.0-50-amd64"


def debian_dir() -> Path:
    root = os.environ.get("CPUALLOC_DEBIAN_KERNEL_DIR")
    if not root:
        pytest.skip("CPUALLOC_DEBIAN_KERNEL_DIR is not set")
    path = Path(root)
    assert (path / "boot" / f"vmlinuz-{RELEASE}").is_file(), f"{path} is not the linux-image-{RELEASE} package root"
    return path


def system_map() -> str:
    """The real System.map text of the build (see the module doc)."""
    dbg = os.environ.get("CPUALLOC_DEBIAN_DBG_VMLINUX")
    if not dbg:
        pytest.skip("CPUALLOC_DEBIAN_DBG_VMLINUX is not set")
    beside = Path(dbg).parent / f"System.map-{RELEASE}"
    if beside.is_file():
        return beside.read_text()
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("GNU nm is not installed")
    return subprocess.run([nm, "-n", dbg], check=True, capture_output=True, text=True).stdout


def percpu_absolute(rows: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """make_percpus_absolute() applied to the oracle (module doc)."""
    where = {n: a for a, _, n in rows}
    lo, hi = where["__per_cpu_start"], where["__per_cpu_end"]
    return [(a, "A" if lo <= a <= hi else t, n) for a, t, n in rows]


def test_debian_vmlinuz_kallsyms_matches_system_map() -> None:
    root = debian_dir()
    loaded = load_any(str(root / "boot" / f"vmlinuz-{RELEASE}"))
    data = getattr(loaded.payload, "data", None)
    assert data is not None
    k = find_kallsyms(data, str(root / "boot" / f"vmlinuz-{RELEASE}"))
    assert k is not None
    assert k.word_bytes == 8 and k.endian == "little" and k.base_relative and k.seqs_of_names
    want = kept_by_kallsyms(system_map(), True, "6.1")
    assert k.absolute_percpu
    want = percpu_absolute(want)
    got = decoded(k)
    matches, n_got, n_want = agreement(got, want)
    # Debian's config: KALLSYMS_ALL=y; the figure is "about 94,000 entries".
    assert "CONFIG_KALLSYMS_ALL=y" in (root / "boot" / f"config-{RELEASE}").read_text().splitlines()
    assert n_want > 80_000
    assert matches >= 0.999 * n_want, (matches, n_got, n_want)
    assert matches >= 0.999 * n_got, (matches, n_got, n_want)
    print(f"kallsyms {n_got} entries, System.map kept {n_want}, matches {matches}")
