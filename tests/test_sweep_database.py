"""`sweep` checks the applicable limits of the shipped database (issue 4 item 5)."""

from __future__ import annotations

import json

from conftest import REPO, run_cli

SAMPLE = [str(REPO / "samples" / "sparc64-smp.elf"), "--config", str(REPO / "samples" / "sparc64-nr64-static.config")]


def test_sparc64_static_largest_nr_cpus_from_the_8mib_rule() -> None:
    """samples/sparc64-smp.elf: _end - KERNBASE = 0x10000 = 65,536 B (its readelf -l: one PT_LOAD
    at 0x400000, MemSiz 0xe244, and _end is page-aligned to 0x410000). The static design adds
    NR_CPUS x (8 KiB << 4) = NR_CPUS x 131,072 B. The 2.6.24 sparc64 ceiling is 8 MiB =
    8,388,608 B, so the largest N has 65,536 + N x 131,072 <= 8,388,608:
    N <= 8,323,072 / 131,072 = 63.5 -> 63, and 64 fails (65,536 + 8,388,608 > 8,388,608)."""
    rc, out, err = run_cli(["sweep", "--arch", "sparc64", *SAMPLE, "--format", "json"])
    assert rc == 0, err
    doc = json.loads(out)
    static = [f for f in doc["fits"] if f["design"] == "static" and f["measure"] == "image_extent"]
    assert static == [{"bound": 8388608, "design": "static", "largest_fitting": 63, "measure": "image_extent",
                       "non_monotonic": False, "smallest_failing": 64, "verdict": "decided",
                       "largest_fitting_unbuildable": None, "limit": "sparc64.image-8mib"}]
    used = [f for f in doc["inputs"] if f["name"] == "limit sparc64.image-8mib"]
    assert used and used[0]["provenance"] == "limits database"


def test_no_database_checks_only_given_limits() -> None:
    rc, out, err = run_cli(["sweep", "--arch", "sparc64", *SAMPLE, "--format", "json", "--no-database"])
    assert rc == 0, err
    assert json.loads(out)["fits"] == []
    rc, out, err = run_cli(["sweep", "--arch", "sparc64", *SAMPLE, "--format", "json", "--no-database",
                            "--limit", "image_extent=4MiB"])
    assert rc == 0, err
    fits = [f for f in json.loads(out)["fits"] if f["design"] == "static"]
    # 65,536 + N x 131,072 <= 4,194,304  ->  N <= 31.5  ->  31
    assert [(f["bound"], f["largest_fitting"]) for f in fits] == [(4194304, 31)]
