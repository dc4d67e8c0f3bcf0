"""Hostile Kconfig trees, configs and caches (issue 17, the Kconfig classes 1, 2, 3, 7, 9, 11).

Every input is built by tests/fixtures/hostile_kconfig/make.py. Each case runs the real entry
point (`python -m cpualloc_cli`) in a subprocess and checks the exit code, the message, the
child's peak RSS and CPU time (from wait4, so other load on the machine does not count; a
wall-clock timeout only catches hangs), and, for the security classes, that the attack's effect
did not happen: no module imported, no file outside the tree quoted, nothing but JSON on stdout,
no code run from the cache.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from measured import spawn

REPO = Path(__file__).resolve().parents[1]
MAX_RSS_BYTES = 512 << 20
MAX_CPU_SECONDS = 5.0
HANG_SECONDS = 60.0


def _load_make() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hostile_kconfig_make",
                                                  Path(__file__).parent / "fixtures" / "hostile_kconfig" / "make.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


make = _load_make()


@dataclass
class Run:
    rc: int
    out: str
    err: str
    rss: int  # bytes
    cpu: float  # seconds, user + system


def run(args: list[str], env: dict[str, str], cwd: Path | None = None, user: str | None = None) -> Run:
    """The CLI in a subprocess; rusage of that one child via wait4."""
    full = dict(os.environ)
    full.pop("COLUMNS", None)
    full["NO_COLOR"] = "1"
    full.update(env)
    # `python -m` puts the working directory first on sys.path (what class 2 is about);
    # the package is found through the editable install.
    cmd = [sys.executable, "-m", "cpualloc_cli", *args]
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    out_path = Path(env["XDG_CACHE_HOME"]).parent / f".out-{time.monotonic_ns()}"
    with open(out_path, "w+") as out, open(str(out_path) + ".err", "w+") as err:
        # started by a small spawner, so the RSS is the command's own, not pytest's (tests/measured.py)
        m = spawn(cmd, env=full, cwd=cwd, stdout=out, stderr=err, deadline_s=HANG_SECONDS)
        if m.hung:
            pytest.fail(f"hang: {args} still running after {HANG_SECONDS} s")
        out.seek(0)
        err.seek(0)
        result = Run(m.returncode, out.read(), err.read(), m.peak_rss_bytes, m.cpu_s)
    out_path.unlink()
    Path(str(out_path) + ".err").unlink()
    return result


def bounded(r: Run) -> None:
    assert r.rc in (0, 1, 3), (r.rc, r.err)
    assert "Traceback" not in r.err, r.err
    assert r.rss <= MAX_RSS_BYTES, f"peak RSS {r.rss >> 20} MiB"
    assert r.cpu <= MAX_CPU_SECONDS, f"CPU time {r.cpu:.2f} s"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(tmp_path / "cache")}


def config_args(tree: Path, *more: str) -> list[str]:
    return ["config", "--srctree", str(tree), "--arch", "x86_64", *more]


# --- class 3: trees stay trees ---------------------------------------------------------------


@pytest.mark.parametrize("case,message", [
    ("top_kconfig_symlink_out", "'Kconfig' resolves outside the --srctree tree; refused"),
    ("source_symlink_out", "leaves the Kconfig tree"),
    ("makefile_symlink_out", "the top Makefile resolves outside the --srctree tree; refused"),
])
def test_files_outside_the_tree_are_refused_and_never_quoted(tmp_path: Path, env: dict[str, str], case: str,
                                                             message: str) -> None:
    tree = getattr(make, case)(tmp_path)
    for fmt in ("text", "json"):
        r = run(config_args(tree, "--format", fmt), env)
        bounded(r)
        assert r.rc == 3 and r.out == "", (r.rc, r.out)
        assert r.err.startswith("cpualloc: error: ") and message in r.err, r.err
        assert "SECRET-FIRST-LINE" not in r.err + r.out  # the target's first line is never printed


@pytest.mark.parametrize("case,message", [
    ("source_fifo", "'sub/Kconfig' is a FIFO, not a regular file; refused"),
    ("top_fifo", "no top-level Kconfig here"),
    ("makefile_fifo", "the top Makefile is a FIFO, not a regular file; refused"),
    ("source_dev_zero_symlink", "leaves the Kconfig tree"),
    ("source_char_device", "'zero' is a character device, not a regular file; refused"),
])
def test_non_regular_files_are_refused_without_hanging(tmp_path: Path, env: dict[str, str], case: str,
                                                       message: str) -> None:
    tree = getattr(make, case)(tmp_path)
    if tree is None:
        pytest.skip("mknod of a character device needs root")
    r = run(config_args(tree), env)
    bounded(r)
    assert r.rc == 3 and r.out == "" and message in r.err, r.err


def test_a_symlink_inside_the_tree_is_still_fine(tmp_path: Path, env: dict[str, str]) -> None:
    tree = make.tree(tmp_path, "inner-link", 'source "arch/Kconfig"\n', {"real/Kconfig": 'config A\n\tbool "a"\n'
                                                                                        '\tdefault y\n'})
    (tree / "arch").mkdir()
    os.symlink("../real/Kconfig", tree / "arch" / "Kconfig")
    r = run(config_args(tree, "--format", "json", "--show", "A"), env)
    bounded(r)
    assert r.rc == 0 and json.loads(r.out)["symbols"]["A"]["value"] == "y", r.err


# --- class 7: stdout stays pure ----------------------------------------------------------------


def test_info_and_warning_if_are_findings_not_stdout(tmp_path: Path, env: dict[str, str]) -> None:
    tree = make.info_and_warning(tmp_path)
    r = run(config_args(tree, "--format", "json"), env)
    bounded(r)
    assert r.rc == 0, r.err
    doc = json.loads(r.out)  # stdout is one JSON document, nothing printed before it
    messages = [f["message"] for f in doc["findings"]]
    assert any("INFO-FROM-THE-TREE" in m for m in messages), messages
    assert any("WARNING-FROM-THE-TREE" in m for m in messages), messages
    # kconfiglib's own format for $(info) is "Kconfig:1: INFO-FROM-THE-TREE" on stdout
    assert "Kconfig:1: INFO" not in r.out
    # the same from the warm cache
    r2 = run(config_args(tree, "--format", "json"), env)
    assert json.loads(r2.out)["findings"] == doc["findings"]


# --- class 9: work budgets ---------------------------------------------------------------------


@pytest.mark.parametrize("case,message", [
    ("continuations", "Kconfig:1003: cannot parse Kconfig: more than 1000 continued lines in a row (work budget)"),
    ("doubling_macro", "a macro value longer than 65536 characters (work budget)"),
    ("fanout_macro", "more than 50000 macro expansions (work budget)"),
    ("recursive_variable", "Preprocessor variable Z recursively references itself"),
])
def test_kconfig_work_budgets(tmp_path: Path, env: dict[str, str], case: str, message: str) -> None:
    tree = getattr(make, case)(tmp_path)
    r = run(config_args(tree), env)
    bounded(r)
    assert r.rc == 3 and r.out == "" and message in r.err, r.err


def test_a_long_line_is_a_budget_too(tmp_path: Path, env: dict[str, str]) -> None:
    tree = make.tree(tmp_path, "long-line", 'config A\n\tbool "' + "a" * (70 << 10) + '"\n')
    r = run(config_args(tree), env)
    bounded(r)
    assert r.rc == 3 and "Kconfig:2: cannot parse Kconfig: a line (continuations joined) longer than 65536" in r.err


def test_million_line_config_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    # 1,000,000 short lines: 7.9 MB, under the 16 MiB size cap, so the line budget decides
    cfg = tmp_path / "million.config"
    cfg.write_text("# x\n" * 1_000_000)
    for extra in ([], ["--srctree", str(make.tree(tmp_path, "small", 'config A\n\tbool "a"\n'))]):
        r = run(["config", "--arch", "x86_64", "--config", str(cfg), *extra], env)
        bounded(r)
        assert r.rc == 3 and r.out == "", r.err
        assert "1000000 lines: more than the 50000 lines a .config may have (work budget)" in r.err


def test_many_malformed_lines_are_counted_not_listed(tmp_path: Path, env: dict[str, str]) -> None:
    # 49,999 malformed lines (under the line budget): at most 100 findings per rule, plus a count
    cfg = tmp_path / "garbage.config"
    cfg.write_text("garbage line\n" * 49_999)
    r = run(["config", "--arch", "x86_64", "--config", str(cfg), "--format", "json"], env)
    bounded(r)
    assert r.rc == 0, r.err
    findings = json.loads(r.out)["findings"]
    malformed = [f for f in findings if f["rule"] == "config.malformed-line"]
    assert len(malformed) == 101
    assert "49899 more config.malformed-line finding(s) not shown" in malformed[-1]["message"]


# --- class 11: environment and staleness -------------------------------------------------------


def test_tree_sees_only_kbuild_variables_and_named_ones(tmp_path: Path, env: dict[str, str]) -> None:
    tree = make.env_reader(tmp_path, "CPUALLOC_TEST_SECRET")
    secret_env = {**env, "CPUALLOC_TEST_SECRET": "s3cr3t-token"}
    r = run(config_args(tree, "--format", "json", "--show", "LEAK"), secret_env)
    bounded(r)
    assert r.rc == 0, r.err
    assert json.loads(r.out)["symbols"]["LEAK"]["value"] == ""
    assert "s3cr3t" not in r.out + r.err
    r = run(config_args(tree, "--format", "json", "--show", "LEAK", "--env", "CPUALLOC_TEST_SECRET"), secret_env)
    assert r.rc == 0 and json.loads(r.out)["symbols"]["LEAK"]["value"] == "s3cr3t-token", r.err
    # Kbuild's own variables are still there (top Makefile: ARCH, SRCARCH, KERNELVERSION)
    tree2 = make.tree(tmp_path, "kbuild-vars", 'config V\n\tstring "v"\n\tdefault "$(ARCH)/$(SRCARCH)/$(KERNELVERSION)"\n')
    r = run(config_args(tree2, "--format", "json", "--show", "V"), env)
    assert json.loads(r.out)["symbols"]["V"]["value"] == "x86_64/x86/6.1.0"


def test_env_option_rejects_a_non_name(tmp_path: Path, env: dict[str, str]) -> None:
    r = run(config_args(make.env_reader(tmp_path, "X"), "--env", "A=B"), env)
    assert r.rc == 2 and "--env" in r.err and r.out == ""


def test_a_file_added_under_a_source_glob_invalidates_the_cache(tmp_path: Path, env: dict[str, str]) -> None:
    tree = make.glob_source(tmp_path)
    args = config_args(tree, "--format", "json", "--show", "A", "--show", "B")
    r = run(args, env)
    assert r.rc == 0 and json.loads(r.out)["symbols"]["B"]["type"] == "unknown", r.err
    (tree / "sub" / "b").write_text('config B\n\tbool "b"\n\tdefault y\n')
    r = run(args, env)
    assert r.rc == 0 and json.loads(r.out)["symbols"]["B"]["value"] == "y", r.err


def test_osource_target_appearing_invalidates_the_cache(tmp_path: Path, env: dict[str, str]) -> None:
    tree = make.tree(tmp_path, "osource", 'osource "later/Kconfig"\n')
    args = config_args(tree, "--format", "json", "--show", "L")
    assert json.loads(run(args, env).out)["symbols"]["L"]["type"] == "unknown"
    (tree / "later").mkdir()
    (tree / "later" / "Kconfig").write_text('config L\n\tbool "l"\n\tdefault y\n')
    assert json.loads(run(args, env).out)["symbols"]["L"]["value"] == "y"


# --- class 2: no module from the working directory or PYTHONPATH --------------------------------


def test_kconfigfunctions_in_cwd_or_pythonpath_is_never_imported(tmp_path: Path, env: dict[str, str]) -> None:
    marker = tmp_path / "IMPORTED"
    cwd = tmp_path / "cwd"
    make.kconfigfunctions_in(cwd, marker)
    evil = tmp_path / "pp"
    evil.mkdir()
    (evil / "evilfns.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\nfunctions = {{}}\n")
    tree = make.tree(tmp_path, "plain", 'config A\n\tbool "a"\n\tdefault y\n')
    pythonpath = os.pathsep.join(p for p in (str(cwd), str(evil), os.environ.get("PYTHONPATH", "")) if p)
    hostile = {**env, "PYTHONPATH": pythonpath, "KCONFIG_FUNCTIONS": "evilfns"}
    for args in (config_args(tree, "--format", "json"), ["config", "--arch", "x86_64", "--format", "json"]):
        for extra in ({}, {"KCONFIG_FUNCTIONS": ""}):
            r = run(args, {**hostile, **extra}, cwd=cwd)
            bounded(r)
            assert r.rc == 0, r.err
            json.loads(r.out)
            assert not marker.exists(), "a module was imported on behalf of the tree"
    # the control: the planted module is importable from that directory (so the test can fail)
    subprocess.run([sys.executable, "-c", "import kconfigfunctions"], cwd=cwd, check=True)
    assert marker.exists()


# --- class 1: the parse cache ------------------------------------------------------------------


def _store_dir(env: dict[str, str]) -> Path:
    return Path(env["XDG_CACHE_HOME"]) / "cpualloc" / "kconfig"


def _entry(env: dict[str, str]) -> Path:
    [entry] = [p for p in _store_dir(env).iterdir() if p.name.endswith(".pickle")]
    return entry


def _forge(entry: Path, payload: bytes, mac_key: bytes | None) -> None:
    """Rewrite `entry` with the same key, files hash and metadata but another payload, with a
    MAC under `mac_key` (None: the plain sha256 the old format trusted)."""
    from cpualloc_cli.adapters import securecache

    data = entry.read_bytes()
    body = data[len(securecache.MAGIC) + 32:]
    key, files_hash, meta_len, rest = body.split(b"\n", 3)
    meta = rest[:int(meta_len)]
    new_body = b"\n".join([key, files_hash, meta_len, meta + payload])
    if mac_key is None:
        mac = hashlib.sha256(new_body).digest()
    else:
        mac = hmac.new(mac_key, entry.name.encode() + b"\0" + new_body, hashlib.sha256).digest()
    entry.write_bytes(securecache.MAGIC + mac + new_body)
    os.chmod(entry, 0o600)


def test_forged_entries_never_run_code(tmp_path: Path, env: dict[str, str]) -> None:
    marker = tmp_path / "PWNED"
    tree = make.tree(tmp_path, "t", 'config A\n\tbool "a"\n\tdefault y\n')
    args = config_args(tree, "--format", "json", "--show", "A")
    assert run(args, env).rc == 0
    entry = _entry(env)
    good = entry.read_bytes()
    evil = make.evil_pickle(marker)
    # a planted entry with the right key, files hash and a plain sha256 (what the old cache
    # checked), and one with a MAC under a guessed key: ignored, the tree is parsed again
    resolved = Path(env["XDG_CACHE_HOME"]) / "cpualloc" / "resolved"  # a hit there never reaches the parse cache
    for mac_key in (None, b"\0" * 32, os.urandom(32)):
        shutil.rmtree(resolved, ignore_errors=True)
        _forge(entry, evil, mac_key)
        r = run(args, env)
        bounded(r)
        assert r.rc == 0 and json.loads(r.out)["symbols"]["A"]["value"] == "y", r.err
        assert not marker.exists(), "code ran from a forged cache entry"
        entry.write_bytes(good)
    # control: with the store's real key the same forgery is loaded, so only the MAC stands in
    # the way (and the test would see the code run)
    shutil.rmtree(resolved, ignore_errors=True)
    _forge(entry, evil, (_store_dir(env) / ".key").read_bytes())
    run(args, env)
    assert marker.exists()


def test_tampered_symlinked_and_foreign_mode_entries_are_ignored(tmp_path: Path, env: dict[str, str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from cpualloc_cli.adapters import kconfig as kadapter

    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])
    tree = make.tree(tmp_path, "t", 'config A\n\tbool "a"\n\tdefault y\n')
    req = kadapter.ConfigRequest(arch="x86_64", srctree=str(tree))

    def cached() -> bool:
        # the parse cache is what is under test: a resolved-cache hit would never reach it
        shutil.rmtree(Path(env["XDG_CACHE_HOME"]) / "cpualloc" / "resolved", ignore_errors=True)
        loaded = kadapter.load_resolved_config(req)
        assert loaded.resolved.values["A"] == "y"
        return loaded.parse_from_cache

    assert not cached() and cached()  # cold, then warm
    store = _store_dir(env)
    entry = _entry(env)
    good = entry.read_bytes()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    # a flipped bit
    data = bytearray(good)
    data[-10] ^= 1
    entry.write_bytes(bytes(data))
    assert not cached()
    # the entry a symlink to a genuine copy: O_NOFOLLOW refuses it
    (elsewhere / entry.name).write_bytes(good)
    os.chmod(elsewhere / entry.name, 0o600)
    entry.unlink()
    os.symlink(elsewhere / entry.name, entry)
    assert not cached()
    assert not entry.is_symlink()  # replaced by a fresh entry (rename over the link, not through it)
    assert (elsewhere / entry.name).read_bytes() == good
    # group/other bits on an entry
    os.chmod(entry, 0o640)
    assert not cached()
    # the store directory a symlink to a genuine copy: refused, and nothing written through it
    shutil.copytree(store, elsewhere / "store")
    os.chmod(elsewhere / "store", 0o700)
    shutil.rmtree(store)
    os.symlink(elsewhere / "store", store)
    before = sorted(p.name for p in (elsewhere / "store").iterdir())
    assert not cached() and not cached()
    assert sorted(p.name for p in (elsewhere / "store").iterdir()) == before
    store.unlink()
    # the key a symlink: the store is refused
    assert not cached() and cached()
    key = store / ".key"
    (elsewhere / "key").write_bytes(key.read_bytes())
    os.chmod(elsewhere / "key", 0o600)
    key.unlink()
    os.symlink(elsewhere / "key", key)
    assert not cached() and not cached()
    key.unlink()
    # an ancestor writable by others (not sticky): refused; sticky and root-owned (as /tmp): fine
    assert not cached() and cached()
    base = Path(env["XDG_CACHE_HOME"])
    os.chmod(base, 0o777)
    assert not cached()
    if os.geteuid() == 0:
        os.chmod(base, 0o1777)
        assert cached()
    os.chmod(base, 0o755)
    # a store directory with group/other bits: refused
    os.chmod(store, 0o750)
    assert not cached() and not cached()


def test_store_api_round_trip_and_names(tmp_path: Path) -> None:
    from cpualloc_cli.adapters import securecache

    base = tmp_path / "base"
    s = securecache.open_store("unit", base)
    assert s is not None
    with s:
        assert s.put("a.entry", b"payload") and s.get("a.entry", 100) == b"payload"
        assert s.get("a.entry", 3) is None  # bigger than the cap
        assert not s.put(".key", b"x") and s.get(".key", 100) is None
        assert not s.put("../escape", b"x")
    assert oct((base / "unit").stat().st_mode & 0o777) == "0o700"
    assert oct((base / "unit" / "a.entry").stat().st_mode & 0o777) == "0o600"
    with pytest.raises(ValueError):
        securecache.open_store("../x", base)


# --- class 1, as a second user --------------------------------------------------------------


ATTACKER = "cpualloc-attacker"


@pytest.fixture(scope="module")
def attacker() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        pytest.skip("needs root to create and run as a second, unprivileged user")
    if shutil.which("runuser") is None:
        pytest.skip("runuser is not available")
    try:
        return pwd.getpwnam(ATTACKER)
    except KeyError:
        pass
    if shutil.which("useradd") is None:
        pytest.skip("useradd is not available")
    proc = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ATTACKER],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"useradd failed: {proc.stderr.strip()}")
    return pwd.getpwnam(ATTACKER)


@pytest.fixture
def reachable() -> object:
    """A directory the second user can reach (pytest's tmp_path sits under a 0700 directory)."""
    path = Path(tempfile.mkdtemp(prefix="cpualloc-hostile-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _as(user: str, code: str) -> subprocess.CompletedProcess[str]:
    """Run Python `code` as `user` (the base interpreter: a venv may sit where that user cannot go)."""
    python = shutil.which("python3", path="/usr/bin:/bin") or getattr(sys, "_base_executable", sys.executable)
    return subprocess.run(["runuser", "-u", user, "--", python, "-I", "-c", code], capture_output=True, text=True,
                          cwd="/")


def test_second_user_cannot_plant_into_a_shared_cache(reachable: Path, attacker: pwd.struct_passwd) -> None:
    """The victim (root) uses an XDG_CACHE_HOME the attacker can write (a shared runner's
    cache, sticky /tmp-like or owned by the attacker). The attacker plants a whole store: a
    key of their own, and an entry for the victim's exact request with a valid MAC under it."""
    tmp_path = reachable
    marker = tmp_path / "PWNED"
    tree = make.tree(tmp_path, "t", 'config A\n\tbool "a"\n\tdefault y\n')
    for mode, owner in ((0o1777, 0), (0o755, attacker.pw_uid)):
        shared = tmp_path / f"shared-{mode:o}"
        shared.mkdir()
        os.chmod(shared, mode)
        os.chown(shared, owner, 0)
        victim_env = {"XDG_CACHE_HOME": str(shared)}
        # the attacker computes the entry the victim will look for: do one run as the victim
        # in a private scratch cache, copy its entry, and re-MAC it under the attacker's key
        scratch = {"XDG_CACHE_HOME": str(tmp_path / f"scratch-{mode:o}")}
        assert run(config_args(tree, "--format", "json"), scratch).rc == 0
        entry = _entry(scratch)
        attacker_key = b"k" * 32
        _forge(entry, make.evil_pickle(marker), attacker_key)
        planted = entry.read_bytes()
        plant = (f"import os\nd = {str(shared)!r} + '/cpualloc/kconfig'\nos.makedirs(d, mode=0o700, exist_ok=True)\n"
                 f"open(d + '/.key', 'wb').write({attacker_key!r})\nos.chmod(d + '/.key', 0o600)\n"
                 f"open(d + '/{entry.name}', 'wb').write({planted!r})\nos.chmod(d + '/{entry.name}', 0o600)\n")
        p = _as(ATTACKER, plant)
        assert p.returncode == 0, p.stderr
        r = run(config_args(tree, "--format", "json", "--show", "A"), victim_env)
        bounded(r)
        assert r.rc == 0 and json.loads(r.out)["symbols"]["A"]["value"] == "y", r.err
        assert not marker.exists(), "the victim ran code planted by another user"
        # and the victim wrote nothing into the attacker's directory
        store = shared / "cpualloc" / "kconfig"
        assert sorted(p.name for p in store.iterdir()) == sorted([".key", entry.name])


def test_second_user_cannot_read_the_key_or_write_an_entry(reachable: Path, attacker: pwd.struct_passwd) -> None:
    tmp_path = reachable
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    tree = make.tree(tmp_path, "t", 'config A\n\tbool "a"\n\tdefault y\n')
    assert run(config_args(tree), env).rc == 0
    store = _store_dir(env)
    os.chmod(Path(env["XDG_CACHE_HOME"]), 0o755)
    os.chmod(store.parent, 0o755)
    r = _as(ATTACKER, f"open({str(store / '.key')!r}, 'rb').read()")
    assert r.returncode != 0 and "PermissionError" in r.stderr
    r = _as(ATTACKER, f"open({str(store / 'planted.pickle')!r}, 'wb').write(b'x')")
    assert r.returncode != 0 and "PermissionError" in r.stderr
    assert not (store / "planted.pickle").exists()


def test_modules_planted_in_cwd_are_not_imported_under_python_m(tmp_path: Path, env: dict[str, str]) -> None:
    # `python -m` puts the working directory first on sys.path; cpualloc_cli/__main__.py drops it
    marker = tmp_path / "SHADOWED"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    for name in ("kconfiglib", "elftools", "rich"):
        (cwd / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write({name!r})\nraise SystemExit(9)\n")
    tree = make.tree(tmp_path, "plain", 'config A\n\tbool "a"\n\tdefault y\n')
    for args in (config_args(tree, "--format", "json"), ["config", "--arch", "x86_64"]):
        r = run(args, env, cwd=cwd)
        bounded(r)
        assert r.rc == 0 and not marker.exists(), (r.rc, r.err)
    # the control: from that directory, the planted kconfiglib is what `import kconfiglib` finds
    subprocess.run([sys.executable, "-c", "import kconfiglib"], cwd=cwd, check=False)
    assert marker.read_text() == "kconfiglib"
