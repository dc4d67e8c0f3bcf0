"""Hostile I/O (issue 17, classes 4, 5 and 10): output paths, policy discovery and numbers.

Every input is made here, in a few lines, from nothing but the fixtures named below; each
security test asserts that the attack's effect did NOT happen (the victim file is intact, no
file was written, no temporary is left, the planted waiver did not silence the failure), and
each has a twin showing the same input DOES take effect when it is legitimate, so the test
can fail.

* Output (`-o`, `extract -o`): a planted symlink must never be written through (the old
  writer resolved it and renamed over its target, so a root-only file elsewhere was
  replaced); FIFOs (which hung), devices, sockets and directories are refused with exit 3;
  SIGTERM/SIGINT during the write leave no temporary; `-o ''` is a usage error.
* Policy discovery: `cpualloc.toml` / `[tool.cpualloc]` are taken only from directories and
  files that nobody but the user or root could have written, and the walk stops at the
  repository root (`.git`) or home. Where the tests run as root they also run the attack as
  a second, unprivileged user (created with useradd, run with runuser/setpriv).
* Numbers: inf, nan, 1e400, negatives and 5,000-digit integers in options (exit 2 naming the
  option), in a policy (exit 3 naming file and key) and in a baseline (exit 3 naming the key).

The seed scenario used for policies (samples/sparc64-nr64-static.config with
samples/sparc64-smp.elf) fails sparc64.image-8mib with exit 1: 0x10000 + 64 * 128 KiB =
8454144 > 8 MiB (hand arithmetic in tests/test_check_cli.py::seed_numbers).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO

from cpualloc_cli.adapters.baseline import MAX_BASELINE_BYTES, read_baseline
from cpualloc_cli.adapters.policy import find_policy, load_policy
from cpualloc_cli.cli import run
from cpualloc_cli.cli.common import write_atomic
from cpualloc_cli.errors import EXIT_INPUT, EXIT_USAGE, InputError, PolicyError
from cpualloc_cli.model.measures import MAX_SIZE_BYTES, parse_budget, parse_limit, parse_size

X86_64 = FIXTURES / "elf" / "x86_64-smp" / "vmlinux"
COMPRESSED = FIXTURES / "compressed"
V1, V2 = FIXTURES / "diff" / "demo-v1.o", FIXTURES / "diff" / "demo-v2.o"
SEED_CONFIG = REPO / "samples" / "sparc64-nr64-static.config"
SEED_IMAGE = REPO / "samples" / "sparc64-smp.elf"
SEED_RULE = "sparc64.image-8mib"
WAIVE_SEED = f'[[waiver]]\nrule = "{SEED_RULE}"\nreason = "planted by an attacker"\n'
TIMEOUT_S = 120  # a guard against a hang (the FIFO case hung forever), not a speed assertion


def cli(args: list[str | Path], *, cwd: Path | None = None, env: dict[str, str] | None = None,
        prefix: list[str] | None = None, python: list[str] | None = None) -> tuple[int, str, str]:
    """The real entry point in a child process; `prefix` runs it as someone else."""
    full = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "XDG_CACHE_HOME")}
    full["NO_COLOR"] = "1"
    full["PYTHONPATH"] = str(REPO)
    full.update(env or {})
    argv = [*(prefix or []), *(python or [sys.executable, "-m", "cpualloc_cli"]), *map(str, args)]
    proc = subprocess.run(argv, cwd=cwd, env=full, capture_output=True, text=True, timeout=TIMEOUT_S)
    return proc.returncode, proc.stdout, proc.stderr


def error_line(stderr: str) -> str:
    """The one `cpualloc: error:` line of a clean failure (no traceback, not a bug)."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("cpualloc: error: "), stderr
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    return lines[0]


def leftovers(*dirs: Path) -> list[str]:
    return [p.name for d in dirs for p in d.iterdir() if p.name.startswith(".cpualloc-")]


# --- 4. output paths --------------------------------------------------------------------------

# Every command that writes through the shared writer: (argv before -o, what a good run writes).
WRITERS = {
    "inspect": ["inspect", "--format", "json", X86_64],
    "diff": ["diff", V1, V2, "--format", "json"],
    "extract": ["extract", COMPRESSED / "vmlinuz-xz"],
    "extract-ikconfig": ["extract", "--ikconfig", COMPRESSED / "config.gz"],
}


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_planted_symlink_is_not_written_through(tmp_path: Path, command: str) -> None:
    """The attack: in a shared sticky directory, plant `report.json -> /etc/shadow`-like link
    and wait for a root job to run `-o report.json`. The victim must keep its bytes and mode."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    victim = private / "shadow"
    victim.write_text("root:$6$secret:19000::::::\n")
    victim.chmod(0o600)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    link = shared / "report.json"
    link.symlink_to(victim)
    rc, stdout, stderr = cli([*WRITERS[command], "-o", link])
    assert rc == EXIT_INPUT, stderr
    line = error_line(stderr)
    assert str(link) in line and "is a symbolic link" in line
    assert victim.read_text() == "root:$6$secret:19000::::::\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert link.is_symlink() and os.readlink(link) == str(victim)
    assert leftovers(shared, private) == []
    assert stdout == ""


def test_dangling_symlink_does_not_create_its_target(tmp_path: Path) -> None:
    """A link to a file that does not exist yet (e.g. /etc/cron.d/x): nothing is created there."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "out.json"
    link.symlink_to(elsewhere / "cron-job")
    rc, _, stderr = cli([*WRITERS["inspect"], "-o", link])
    assert rc == EXIT_INPUT and "is a symbolic link" in error_line(stderr)
    assert list(elsewhere.iterdir()) == [] and link.is_symlink()


def test_symlink_swapped_in_during_the_write_is_replaced_not_followed(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The race: the name is a regular file when checked, and a symlink by the time of the
    rename. rename(2) replaces the link itself, so the victim is still untouched."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"VICTIM")
    out = tmp_path / "out"
    out.write_bytes(b"OLD")
    real_replace = os.replace

    def swap_then_replace(*args: object, **kwargs: object) -> None:
        out.unlink()
        out.symlink_to(victim)
        monkeypatch.setattr(os, "replace", real_replace)
        real_replace(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", swap_then_replace)
    write_atomic(str(out), b"NEW")
    assert victim.read_bytes() == b"VICTIM"
    assert not out.is_symlink() and out.read_bytes() == b"NEW"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("command", ["inspect", "extract"])
def test_fifo_is_refused_without_hanging(tmp_path: Path, command: str) -> None:
    """Nobody reads the FIFO: opening it for writing would block forever. lstat first."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    rc, _, stderr = cli([*WRITERS[command], "-o", fifo])  # TimeoutExpired = the hang is back
    assert rc == EXIT_INPUT
    line = error_line(stderr)
    assert str(fifo) in line and "is a FIFO" in line and "redirect stdout" in line
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and leftovers(tmp_path) == []


def test_device_is_refused(tmp_path: Path) -> None:
    rc, _, stderr = cli([*WRITERS["inspect"], "-o", os.devnull])
    assert rc == EXIT_INPUT and "is a character device" in error_line(stderr)
    assert stat.S_ISCHR(os.lstat(os.devnull).st_mode)


def test_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(path))
        rc, _, stderr = cli([*WRITERS["inspect"], "-o", path])
    assert rc == EXIT_INPUT and "is a socket" in error_line(stderr)


@pytest.mark.parametrize("command", ["inspect", "extract"])
def test_directory_is_refused_with_exit_3(tmp_path: Path, command: str) -> None:
    (tmp_path / "keep").write_text("x")
    rc, _, stderr = cli([*WRITERS[command], "-o", tmp_path])
    assert rc == EXIT_INPUT and "is a directory" in error_line(stderr)
    rc, _, stderr = cli([*WRITERS[command], "-o", f"{tmp_path / 'newdir'}/"])
    assert rc == EXIT_INPUT and "names a directory" in error_line(stderr)
    rc, _, stderr = cli([*WRITERS[command], "-o", tmp_path / "missing" / "out"])
    assert rc == EXIT_INPUT and "cannot write output" in error_line(stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]


@pytest.mark.parametrize("command", ["inspect", "extract", "diff"])
def test_empty_output_name_is_a_usage_error(tmp_path: Path, command: str) -> None:
    rc, stdout, stderr = cli([*WRITERS[command], "-o", ""], cwd=tmp_path)
    assert rc == EXIT_USAGE and stdout == ""
    line = error_line(stderr)
    assert "-o/--output: empty file name" in line and "give a file name" in line
    assert list(tmp_path.iterdir()) == []


def test_extract_dash_is_still_stdout(tmp_path: Path) -> None:
    rc, stdout, _ = cli(["extract", "--ikconfig", COMPRESSED / "config.gz", "-o", "-"], cwd=tmp_path)
    assert rc == 0 and stdout == (COMPRESSED / "config").read_text()
    assert list(tmp_path.iterdir()) == []


def test_write_is_still_an_atomic_rename(tmp_path: Path) -> None:
    """A hard link to the old file keeps the old bytes: the new report is a new inode renamed
    into place, never the old file truncated and rewritten. The mode is kept."""
    out = tmp_path / "report.json"
    out.write_text("OLD")
    out.chmod(0o640)
    twin = tmp_path / "twin"
    os.link(out, twin)
    rc, _, stderr = cli([*WRITERS["inspect"], "-o", out])
    assert rc == 0, stderr
    assert json.loads(out.read_text())["kind"] == "inspect"
    assert twin.read_text() == "OLD" and out.stat().st_ino != twin.stat().st_ino
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


# Runs the CLI with os.replace patched to deliver a signal to the process just before the
# rename: the temporary is complete, the target not yet replaced.
KILL_BEFORE_RENAME = """
import os, signal, sys, time
signum = int(sys.argv[1])
# a shell's background job starts with SIGINT ignored (and Python then keeps it so): act as a
# foreground process, which is the case this test is about
signal.signal(signal.SIGINT, signal.default_int_handler)
def replace(*args, **kwargs):
    os.kill(os.getpid(), signum)
    # Python runs the handler between bytecodes, not inside kill(): an interruptible sleep lets
    # it run here (under load it may otherwise come a few instructions late)
    time.sleep(10)
    raise AssertionError("the signal did not stop the write")
os.replace = replace
from cpualloc_cli.cli import main
main(sys.argv[2:])
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_during_the_write_leaves_no_temporary(tmp_path: Path, signum: int) -> None:
    out = tmp_path / "report.json"
    out.write_text("KEEP")
    rc, _, stderr = cli([str(int(signum)), *WRITERS["inspect"], "-o", out],
                        python=[sys.executable, "-c", KILL_BEFORE_RENAME])
    if signum == signal.SIGTERM:
        assert rc == -signal.SIGTERM, stderr  # still dies of the signal, as without handlers
    else:
        assert rc == 130 and ("interrupted" in stderr or "aborted" in stderr), stderr
    assert "AssertionError" not in stderr
    assert out.read_text() == "KEEP"
    assert leftovers(tmp_path) == []


def test_signal_handlers_are_restored(tmp_path: Path) -> None:
    def mine(signum: int, frame: object) -> None:
        raise AssertionError("not expected")

    before_int = signal.getsignal(signal.SIGINT)
    old = signal.signal(signal.SIGTERM, mine)
    try:
        write_atomic(str(tmp_path / "out"), b"data")
        assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGINT) is before_int
    finally:
        signal.signal(signal.SIGTERM, old)
    assert (tmp_path / "out").read_bytes() == b"data"


# --- 5. policy discovery ----------------------------------------------------------------------

def seed_check(cwd: Path, *, env: dict[str, str] | None = None, prefix: list[str] | None = None,
               python: list[str] | None = None) -> tuple[int, dict[str, object], str]:
    rc, stdout, stderr = cli(["check", "--format", "json", "--config", SEED_CONFIG, SEED_IMAGE], cwd=cwd,
                             env={"HOME": str(cwd), **(env or {})}, prefix=prefix, python=python)
    assert rc in (0, 1), stderr
    return rc, json.loads(stdout), stderr


def sticky_shared(tmp_path: Path) -> Path:
    """A stand-in for /tmp: world-writable and sticky."""
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    return shared


def test_trusted_policy_waives_the_seed_failure(tmp_path: Path) -> None:
    """The twin of the attacks below: the same waiver, in the user's own project, applies."""
    project = tmp_path / "project"
    (project / "build").mkdir(parents=True)
    (project / "cpualloc.toml").write_text(WAIVE_SEED)
    rc, doc, _ = seed_check(project / "build", env={"HOME": str(tmp_path)})
    assert rc == 0 and doc["inputs"]["policy"] == str(project / "cpualloc.toml")  # type: ignore[index]
    rc, doc, _ = seed_check(tmp_path)  # and without it, the seed fails
    assert rc == 1 and doc["inputs"]["policy"] is None  # type: ignore[index]


@pytest.mark.parametrize("planted", [WAIVE_SEED, 'fail_on = "sometimes"\n', "[[[ not toml\n",
                                     f'[tool.cpualloc]\n{WAIVE_SEED.replace("[[waiver]]", "[[tool.cpualloc.waiver]]")}'],
                         ids=["waiver", "bad-key", "bad-toml", "pyproject"])
def test_policy_planted_in_a_world_writable_directory_is_skipped(tmp_path: Path, planted: str) -> None:
    """The attack: drop cpualloc.toml (or pyproject.toml) in /tmp; every job run below it
    would take it, silencing the failure (exit 1 -> 0) or breaking the run (exit 3)."""
    shared = sticky_shared(tmp_path)
    name = "pyproject.toml" if planted.startswith("[tool") else "cpualloc.toml"
    (shared / name).write_text(planted)
    job = shared / "job"
    job.mkdir()
    rc, doc, _ = seed_check(job)
    assert rc == 1 and doc["inputs"]["policy"] is None  # type: ignore[index]
    policy = load_policy(start=str(job))
    assert policy.path is None
    assert f"policy: skipped {shared / name}: its directory is writable by others (mode 1777)" in policy.notes


def _need_root(why: str) -> None:
    if os.geteuid() != 0:
        pytest.skip(f"needs root to {why}")


def test_policy_owned_by_another_user_is_skipped(tmp_path: Path) -> None:
    _need_root("give a file to another uid")
    (tmp_path / "cpualloc.toml").write_text(WAIVE_SEED)
    os.chown(tmp_path / "cpualloc.toml", 65534, 65534)
    policy = load_policy(start=str(tmp_path))
    assert policy.path is None and policy.waivers == ()
    assert f"policy: skipped {tmp_path / 'cpualloc.toml'}: owned by uid 65534 (not you, uid 0, nor root)" \
        in policy.notes
    rc, _, _ = seed_check(tmp_path)
    assert rc == 1


def test_policy_in_a_directory_owned_by_another_user_is_skipped(tmp_path: Path) -> None:
    _need_root("give a directory to another uid")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "cpualloc.toml").write_text(WAIVE_SEED)
    os.chown(theirs, 65534, 65534)
    assert find_policy(str(theirs)) is None
    notes = load_policy(start=str(theirs)).notes
    assert any("its directory is owned by uid 65534" in n for n in notes), notes


@pytest.mark.parametrize("mode", [0o666, 0o646])
def test_policy_writable_by_others_is_skipped(tmp_path: Path, mode: int) -> None:
    p = tmp_path / "cpualloc.toml"
    p.write_text(WAIVE_SEED)
    p.chmod(mode)
    policy = load_policy(start=str(tmp_path))
    assert policy.path is None and f"policy: skipped {p}: writable by others (mode {mode:04o})" in policy.notes


def test_policy_writable_by_a_shared_group_is_skipped(tmp_path: Path) -> None:
    _need_root("give a file to another group")
    p = tmp_path / "cpualloc.toml"
    p.write_text(WAIVE_SEED)
    os.chown(p, 0, 65534)
    p.chmod(0o664)
    policy = load_policy(start=str(tmp_path))
    assert policy.path is None and f"policy: skipped {p}: writable by group 65534 (mode 0664)" in policy.notes


def test_policy_writable_by_the_owners_private_group_is_used(tmp_path: Path) -> None:
    """umask 002 (user-private groups, Debian/Fedora) makes every file group-writable by the
    owner's own group, which holds nobody else: still trusted."""
    import grp

    me = pwd.getpwuid(os.geteuid())
    group = grp.getgrgid(me.pw_gid)
    if group.gr_name != me.pw_name or [m for m in group.gr_mem if m != me.pw_name]:
        pytest.skip(f"{me.pw_name}'s primary group {group.gr_name} is not a user-private group")
    p = tmp_path / "cpualloc.toml"
    p.write_text('fail_on = "warning"\n')
    os.chown(p, me.pw_uid, me.pw_gid)
    p.chmod(0o664)
    assert load_policy(start=str(tmp_path)).fail_on == "warning"


def test_symlinked_policy_is_skipped(tmp_path: Path) -> None:
    """O_NOFOLLOW: a link (to anything, here a file the user wrote) is not opened."""
    target = tmp_path / "real.toml"
    target.write_text(WAIVE_SEED)
    (tmp_path / "cpualloc.toml").symlink_to(target)
    policy = load_policy(start=str(tmp_path))
    assert policy.path is None
    assert f"policy: skipped {tmp_path / 'cpualloc.toml'}: a symbolic link" in policy.notes


def test_fifo_named_cpualloc_toml_does_not_hang_discovery(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "cpualloc.toml")
    rc, stdout, stderr = cli(["limits", "--format", "json"], cwd=tmp_path, env={"HOME": str(tmp_path)})
    assert rc == 0, stderr
    assert json.loads(stdout)["policy"] is None


def test_discovery_stops_at_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / "cpualloc.toml").write_text('fail_on = "warning"\n')  # above the repository
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src" / "deep").mkdir(parents=True)
    assert find_policy(str(repo / "src" / "deep")) is None
    (repo / "cpualloc.toml").write_text('fail_on = "error"\n')  # at the root: found
    assert find_policy(str(repo / "src" / "deep")) == (str(repo / "cpualloc.toml"), False)
    worktree = tmp_path / "wt"  # a git worktree has a .git file, not a directory
    (worktree / "sub").mkdir(parents=True)
    (worktree / ".git").write_text("gitdir: /elsewhere\n")
    assert find_policy(str(worktree / "sub")) is None


def test_discovery_stops_at_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cpualloc.toml").write_text('fail_on = "warning"\n')  # above home
    home = tmp_path / "home"
    (home / "work").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    assert find_policy(str(home / "work")) is None
    (home / "cpualloc.toml").write_text('fail_on = "error"\n')
    assert find_policy(str(home / "work")) == (str(home / "cpualloc.toml"), False)


def test_used_policy_is_named_in_the_notes(tmp_path: Path) -> None:
    (tmp_path / "cpualloc.toml").write_text('fail_on = "warning"\n')
    notes = load_policy(start=str(tmp_path)).notes
    assert notes == (f"policy: using {tmp_path / 'cpualloc.toml'} (found from the working directory upward)",)


def test_explicit_policy_is_used_as_given(tmp_path: Path) -> None:
    """--policy FILE is the user's choice: a link or another owner's file is read."""
    target = tmp_path / "real.toml"
    target.write_text(WAIVE_SEED)
    link = tmp_path / "link.toml"
    link.symlink_to(target)
    assert load_policy(str(link)).waivers[0].rule == SEED_RULE
    rc, _, stderr = cli(["check", "--config", SEED_CONFIG, SEED_IMAGE, "--policy", link], cwd=tmp_path,
                        env={"HOME": str(tmp_path)})
    assert rc == 0, stderr


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_explicit_policy_must_be_a_regular_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "policy.toml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        path = Path(os.devnull)
    rc, _, stderr = cli(["check", "--config", SEED_CONFIG, "--policy", path], cwd=tmp_path,
                        env={"HOME": str(tmp_path)})
    assert rc == EXIT_INPUT
    line = error_line(stderr)
    assert line.startswith(f"cpualloc: error: {path}: is ")
    assert ("a directory" if kind == "directory" else "not a regular file") in line


# --- 5b. the same attacks with a real second, unprivileged user ------------------------------

ATTACKER, VICTIM = "cpualloc-attacker", "cpualloc-victim"


def _user(name: str) -> pwd.struct_passwd:
    """A system user for the test (created once with useradd); skip where that is impossible."""
    _need_root("create and become other users")
    if shutil.which("useradd") is None or shutil.which("runuser") is None or shutil.which("setpriv") is None:
        pytest.skip("useradd, runuser or setpriv is missing")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    proc = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin",
                           name], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"useradd {name} failed: {proc.stderr.strip()}")
    return pwd.getpwnam(name)


@pytest.fixture
def shared_base() -> Iterator[Path]:
    """A directory other users can reach (pytest's tmp_path is private to root)."""
    base = Path(tempfile.mkdtemp(prefix="cpualloc-hostile-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def as_user(name: str, *argv: str) -> None:
    subprocess.run(["runuser", "-u", name, "--", *argv], check=True, timeout=TIMEOUT_S)


def test_root_job_skips_a_policy_planted_by_another_user(shared_base: Path) -> None:
    """The CI case: an untrusted user plants policies in a shared /tmp-like directory and in a
    directory of their own; root then runs cpualloc below each."""
    _user(ATTACKER)
    shared = shared_base / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    as_user(ATTACKER, "sh", "-c", 'printf "%s" "$1" > "$2/cpualloc.toml" && mkdir -m 755 "$2/proj" '
            '&& printf "%s" "$1" > "$2/proj/cpualloc.toml"', "sh", WAIVE_SEED, str(shared))
    assert (shared / "cpualloc.toml").stat().st_uid == pwd.getpwnam(ATTACKER).pw_uid
    for below in (shared / "ci", shared / "proj" / "build"):
        below.mkdir()  # made by root
        rc, doc, _ = seed_check(below)
        assert rc == 1 and doc["inputs"]["policy"] is None  # type: ignore[index]
    notes = load_policy(start=str(shared / "proj" / "build")).notes
    uid = pwd.getpwnam(ATTACKER).pw_uid
    assert f"policy: skipped {shared / 'proj' / 'cpualloc.toml'}: its directory is owned by uid {uid} " \
           "(not you, uid 0, nor root)" in notes


def _python_as(user: pwd.struct_passwd) -> list[str]:
    """setpriv argv that runs this interpreter as `user`. The interpreter may live under a
    directory only root can read (a pyenv under root's home): then keep CAP_DAC_READ_SEARCH only (read any
    file; no write, no ownership), which changes nothing about whose files cpualloc trusts."""
    base = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
    for extra in ([], ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]):
        probe = subprocess.run([*base, *extra, sys.executable, "-c", "import cpualloc_cli"], capture_output=True,
                               env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=TIMEOUT_S)
        if probe.returncode == 0:
            return [*base, *extra]
    pytest.skip(f"{sys.executable} cannot run as {user.pw_name}")


def test_unprivileged_user_takes_own_and_roots_policy_but_not_another_users(shared_base: Path) -> None:
    victim = _user(VICTIM)
    _user(ATTACKER)
    prefix = _python_as(victim)
    home = shared_base / "home"
    home.mkdir()
    own = home / "project"
    (own / "build").mkdir(parents=True)
    (own / "cpualloc.toml").write_text(WAIVE_SEED)
    for p in (home, own, own / "build", own / "cpualloc.toml"):
        os.chown(p, victim.pw_uid, victim.pw_gid)
    env = {"HOME": str(home)}
    rc, doc, stderr = seed_check(own / "build", env=env, prefix=prefix)
    assert rc == 0 and doc["inputs"]["policy"] == str(own / "cpualloc.toml"), stderr  # type: ignore[index]

    os.chown(own / "cpualloc.toml", 0, 0)  # root's file: trusted too
    rc, _, _ = seed_check(own / "build", env=env, prefix=prefix)
    assert rc == 0

    os.chown(own / "cpualloc.toml", pwd.getpwnam(ATTACKER).pw_uid, victim.pw_gid)  # someone else's
    rc, doc, _ = seed_check(own / "build", env=env, prefix=prefix)
    assert rc == 1 and doc["inputs"]["policy"] is None  # type: ignore[index]


# --- 10. numbers ------------------------------------------------------------------------------

HUGE = "9" * 5000
HUGE_HEX = "0x" + "f" * 5000
BAD_SIZES = ["inf", "nan", "-1", "1e400", HUGE, HUGE_HEX, "9" * 400 + ".5", "16EiB", "9223372036854775809",
             "8589934593GiB"]


@pytest.mark.parametrize("text", BAD_SIZES)
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_size(text)
    assert len(str(info.value)) < 200  # the 5,000 digits are not echoed back


def test_parse_size_bounds() -> None:
    # 2^63 = 9223372036854775808 = 8589934592 GiB (8589934592 * 2^30): the largest size taken
    assert parse_size("9223372036854775808") == MAX_SIZE_BYTES == parse_size("8589934592GiB")
    assert parse_size("0x8000000000000000") == 1 << 63
    with pytest.raises(ValueError, match="larger than 2\\^63"):
        parse_size("0x8000000000000001")
    assert parse_size("1.5KiB") == 1536  # exact: 3/2 * 1024
    with pytest.raises(ValueError, match="whole number"):
        parse_size("0.5")


@pytest.mark.parametrize("text", ["bss=+inf%", "bss=+nan%", "bss=+1e400%", "bss=-1%", "bss=+-1%", f"bss=+{HUGE}%",
                                  "bss=+2000000%", "bss=+inf", f"bss=+{HUGE}", "bss=1e400"])
def test_parse_budget_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_budget(text)


@pytest.mark.parametrize("text", ["image_extent=inf", "image_extent=-1", f"image_extent={HUGE}",
                                  "vmalloc_share=nan%", "vmalloc_share=inf", "vmalloc_share=1e400%",
                                  "vmalloc_share=-5%", "vmalloc_share=150%", f"vmalloc_share={HUGE}%"])
def test_parse_limit_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_limit(text)


# option -> argv with {} for the value; each is the SIZE parser of one command
OPTIONS = {
    "--crashkernel": ["check", "--config", str(SEED_CONFIG), "--crashkernel", "{}"],
    "--load-window": ["check", "--config", str(SEED_CONFIG), "--load-window", "{}"],
    "--budget": ["check", "--config", str(SEED_CONFIG), "--baseline", "none.json", "--budget", "bss=+{}"],
    "--budget%": ["check", "--config", str(SEED_CONFIG), "--baseline", "none.json", "--budget", "bss=+{}%"],
    "--limit": ["footprint", "--arch", "sparc64", "--limit", "image_extent={}"],
    "--limit%": ["footprint", "--arch", "sparc64", "--limit", "vmalloc_share={}%"],
    "--percpu-reserve": ["footprint", "--arch", "sparc64", "--percpu-reserve", "{}"],
    "--vmalloc-size": ["footprint", "--arch", "sparc64", "--vmalloc-size", "{}"],
    "--static-size": ["footprint", "--arch", "sparc64", "--static-size", "{}"],
    "--max-size": ["extract", str(COMPRESSED / "vmlinuz-xz"), "-o", "unused", "--max-size", "{}"],
    "--threshold": ["diff", str(V1), str(V2), "--threshold", "{}"],
    "scale --limit": ["scale", "a.o@64", "b.o@128", "--limit", "image_extent={}"],
}


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e400", HUGE, HUGE_HEX, "9" * 400 + ".5"],
                         ids=["inf", "nan", "negative", "1e400", "5000-digits", "5000-hex-digits", "400-digit-float"])
@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_option_numbers_are_usage_errors(option: str, value: str, capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In process (84 cases): exit 2 naming the option, never exit 4."""
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("{}", value) for a in OPTIONS[option]]
    rc = run(argv)
    err = capsys.readouterr().err
    assert rc == EXIT_USAGE, err
    line = error_line(err)
    assert line.startswith(f"cpualloc: error: {option.split()[-1].rstrip('%')}: "), line
    assert len(line) < 300
    assert list(tmp_path.iterdir()) == []


def test_option_numbers_through_the_entry_point(tmp_path: Path) -> None:
    """The same through a real child process, once per parser."""
    for argv in (OPTIONS["--crashkernel"], OPTIONS["--budget%"], OPTIONS["--limit%"], OPTIONS["--threshold"]):
        rc, _, stderr = cli([a.replace("{}", "1e400" if "%" in "".join(argv) else HUGE) for a in argv], cwd=tmp_path)
        assert rc == EXIT_USAGE, stderr
        error_line(stderr)


POLICY_NUMBERS = [
    ("crashkernel = inf\n", "crashkernel"),
    ("crashkernel = nan\n", "crashkernel"),
    ("crashkernel = -1\n", "crashkernel"),
    ("crashkernel = 1e400\n", "crashkernel"),
    (f"crashkernel = {HUGE_HEX}\n", "crashkernel"),
    (f'crashkernel = "{"9" * 400}.5MiB"\n', "crashkernel"),
    (f'load_window = "{HUGE}"\n', "load_window"),
    ('[budgets]\nbss = "+inf%"\n', "budgets.bss"),
    ('[budgets]\nbss = "+nan%"\n', "budgets.bss"),
    ('[budgets]\nbss = "+1e400%"\n', "budgets.bss"),
    (f'[budgets]\nbss = "+{HUGE}%"\n', "budgets.bss"),
    ('[budgets]\nbss = "-5%"\n', "budgets.bss"),
    ('[[limit]]\nid = "a"\nmeasure = "bss"\nbound = inf\n', "limit[0] (a).bound"),
    ('[[limit]]\nid = "a"\nmeasure = "bss"\nbound = nan\n', "limit[0] (a).bound"),
    ('[[limit]]\nid = "a"\nmeasure = "bss"\nbound = -1\n', "limit[0] (a).bound"),
    ('[[limit]]\nid = "a"\nmeasure = "bss"\nbound = 1e400\n', "limit[0] (a).bound"),
    (f'[[limit]]\nid = "a"\nmeasure = "bss"\nbound = {HUGE_HEX}\n', "limit[0] (a).bound"),
    ('[[limit]]\nid = "a"\nmeasure = "bss"\nbound = "1MiB"\nwarn_above = -inf\n', "limit[0] (a).warn_above"),
    ('[[limit]]\nid = "a"\nmeasure = "vmalloc_share"\nbound = "inf%"\n', "limit[0] (a).bound"),
    ('[[limit]]\nid = "a"\nmeasure = "vmalloc_share"\nbound = 2.5\n', "limit[0] (a).bound"),
    ('[[limit]]\nid = "a"\nmeasure = "bss"\nbound = "1MiB"\n[[limit.bound_when]]\nconfig = { SMP = "y" }\n'
     'bound = nan\n', "limit[0] (a).bound_when[0].bound"),
    (f'[[waiver]]\nrule = "x"\nreason = "r"\nexpires = {HUGE_HEX}\n', "waiver[0].expires"),
    (f'[[waiver]]\nrule = "x"\nreason = "r"\nexpires = "{HUGE}"\n', "waiver[0].expires"),
    ('[[waiver]]\nrule = "x"\nreason = "r"\nexpires = "+99999-01-01"\n', "waiver[0].expires"),
    (f"fail_on = {HUGE_HEX}\n", "fail_on"),
]


@pytest.mark.parametrize(("text", "key"), POLICY_NUMBERS, ids=[f"{k}-{i}" for i, (_, k) in enumerate(POLICY_NUMBERS)])
def test_policy_numbers_name_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    p = tmp_path / "cpualloc.toml"
    p.write_text(text)
    with pytest.raises(PolicyError) as info:
        load_policy(str(p))
    assert info.value.exit_code == EXIT_INPUT and info.value.path == str(p)
    assert info.value.message.startswith(f"{key}: "), info.value.message
    assert len(info.value.one_line()) < 400


def test_policy_with_5000_digit_integer_gives_the_line(tmp_path: Path) -> None:
    """tomllib's int() refuses more than 4,300 digits with a bare ValueError (was exit 4)."""
    p = tmp_path / "cpualloc.toml"
    p.write_text(f'fail_on = "error"\ncrashkernel = {HUGE}\n')
    with pytest.raises(PolicyError) as info:
        load_policy(str(p))
    assert info.value.line == 2 and "digits" in info.value.message


@pytest.mark.parametrize("text", ["crashkernel = inf\n", f"crashkernel = {HUGE}\n", '[budgets]\nbss = "+nan%"\n',
                                  '[[limit]]\nid = "a"\nmeasure = "bss"\nbound = 1e400\n'])
def test_policy_numbers_through_check(tmp_path: Path, text: str) -> None:
    p = tmp_path / "cpualloc.toml"
    p.write_text(text)
    rc, _, stderr = cli(["check", "--config", SEED_CONFIG, "--policy", p], cwd=tmp_path, env={"HOME": str(tmp_path)})
    assert rc == EXIT_INPUT
    assert error_line(stderr).startswith(f"cpualloc: error: {p}")


def baseline_doc(measures: str = '"bss": 1000', symbols: str = "") -> str:
    sym = f', "symbol_sizes": {{{symbols}}}' if symbols else ""
    return f'{{"kind": "check", "measures": {{{measures}}}{sym}}}'


def test_baseline_good(tmp_path: Path) -> None:
    p = tmp_path / "base.json"
    p.write_text(baseline_doc('"bss": 1000, "vmalloc_share": 0.25, "note": "x"', '"a": [12, "b"], "odd": [1]'))
    assert read_baseline(str(p)) == ({"bss": 1000.0, "vmalloc_share": 0.25}, {"a": (12, "b")})


BASELINE_NUMBERS = [
    (baseline_doc('"bss": NaN'), "measures.bss"),
    (baseline_doc('"bss": Infinity'), "measures.bss"),
    (baseline_doc('"bss": -Infinity'), "measures.bss"),
    (baseline_doc('"bss": 1e400'), "measures.bss"),
    (baseline_doc('"bss": -1'), "measures.bss"),
    (baseline_doc(f'"bss": {HUGE}'), "measures.bss"),
    (baseline_doc(f'"bss": 1.{HUGE}'), "measures.bss"),
    (baseline_doc('"bss": 9223372036854775809'), "measures.bss"),
    (baseline_doc(symbols='"big_array": [NaN, "b"]'), "symbol_sizes.big_array"),
    (baseline_doc(symbols='"big_array": [-5, "b"]'), "symbol_sizes.big_array"),
    (baseline_doc(symbols='"big_array": [1e400, "b"]'), "symbol_sizes.big_array"),
    (baseline_doc(symbols='"big_array": [12.5, "b"]'), "symbol_sizes.big_array"),
    (baseline_doc(symbols=f'"big_array": [{HUGE}, "b"]'), "symbol_sizes.big_array"),
    (baseline_doc(symbols='"\\u001b[2Jx": [-1, "b"]'), "symbol_sizes.\\x1b[2Jx"),
]


@pytest.mark.parametrize(("text", "key"), BASELINE_NUMBERS, ids=[f"{k}-{i}" for i, (_, k) in enumerate(BASELINE_NUMBERS)])
def test_baseline_numbers_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    p = tmp_path / "base.json"
    p.write_text(text)
    with pytest.raises(InputError) as info:
        read_baseline(str(p))
    assert info.value.exit_code == EXIT_INPUT and info.value.path == str(p)
    assert info.value.message.startswith(f"{key}: "), info.value.message
    assert "\x1b" not in info.value.one_line() and len(info.value.one_line()) < 400


@pytest.mark.parametrize("kind", ["fifo", "directory", "device", "missing", "too-large"])
def test_baseline_must_be_a_bounded_regular_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "base.json"
    expect = {"fifo": "not a regular file", "directory": "is a directory", "device": "not a regular file",
              "missing": "no such file", "too-large": f"larger than {MAX_BASELINE_BYTES} bytes"}[kind]
    if kind == "fifo":
        os.mkfifo(path)  # no writer: a blocking open would hang here, in process
    elif kind == "directory":
        path.mkdir()
    elif kind == "device":
        path = Path(os.devnull)
    elif kind == "too-large":
        with path.open("wb") as fh:
            fh.truncate(MAX_BASELINE_BYTES + 1)  # sparse: the size is refused before reading
    with pytest.raises(InputError) as info:
        read_baseline(str(path))
    assert info.value.path == str(path) and info.value.message.startswith(expect), info.value.message


def test_baseline_through_check(tmp_path: Path) -> None:
    # check reads --baseline through adapters/baseline.py
    p = tmp_path / "base.json"
    p.write_text(baseline_doc('"bss": NaN'))
    rc, _, stderr = cli(["check", "--config", SEED_CONFIG, "--baseline", p, "--budget", "bss=+1%"], cwd=tmp_path,
                        env={"HOME": str(tmp_path)})
    assert rc == EXIT_INPUT and "measures.bss: NaN is not a finite number" in error_line(stderr)
