"""Shared test plumbing: where the real kernels are, and running the CLI in-process."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis's timing checks (a per-example deadline, "input generation too slow") measure the
# machine, not the property: on a loaded 2-core runner they fail tests whose examples are all
# fine. The properties, the example counts and the other health checks stay as each test sets them.
settings.register_profile("cpualloc", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("cpualloc")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
KERNELS = SHARED / "kernels"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_present() -> bool:
    return KERNELS.is_dir()


def need_shared() -> Path:
    """Skip when ../shared is absent (users' machines); when it is present, a broken or
    missing piece is a failure, never a skip."""
    if not shared_present():
        if os.environ.get("CPUALLOC_REQUIRE_REAL"):
            pytest.fail("CPUALLOC_REQUIRE_REAL is set but ../shared/kernels is absent")
        pytest.skip("../shared/kernels is absent")
    return KERNELS


def need_linux_tree(var: str = "CPUALLOC_LINUX_6_1") -> str:
    """An unpacked Linux source tree named by `var` (.ci/run unpacks 6.1 and 6.12). Skips when
    unset; fails when CPUALLOC_REQUIRE_REAL is set, or when the path is not a Linux tree."""
    path = os.environ.get(var)
    if not path:
        if os.environ.get("CPUALLOC_REQUIRE_REAL"):
            pytest.fail(f"CPUALLOC_REQUIRE_REAL is set but {var} is not")
        pytest.skip(f"{var} is not set (an unpacked Linux source tree)")
    if not os.path.isfile(os.path.join(path, "Kconfig")):
        pytest.fail(f"{var}={path} is not a Linux source tree")
    return path


@pytest.fixture(scope="session")
def shared_kernels() -> Path:
    return need_shared()


@pytest.fixture(scope="session")
def kernel_vmlinux(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Decompress ../shared/kernels/NAME/vmlinux.xz once per session; returns a getter."""
    import lzma

    cache: dict[str, Path] = {}
    base = tmp_path_factory.mktemp("vmlinux")

    def get(name: str) -> Path:
        kernels = need_shared()
        if name not in cache:
            src = kernels / name / "vmlinux.xz"
            if not src.is_file():
                pytest.fail(f"{src} is missing although ../shared/kernels is present")
            out = base / name
            out.mkdir()
            dest = out / "vmlinux"
            dest.write_bytes(lzma.decompress(src.read_bytes()))
            cache[name] = dest
        return cache[name]

    return get


# Environment variables read by the interpreter at start-up (or by the locale machinery): a
# call that sets one needs a fresh process to mean what it says.
_PROCESS_ENV_PREFIXES = ("PYTHON", "LC_", "LANG")


def _needs_process(env: dict[str, str] | None) -> bool:
    if os.environ.get("CPUALLOC_TEST_SUBPROCESS"):  # run every CLI call as a real process
        return True
    return any(k.startswith(_PROCESS_ENV_PREFIXES) for k in (env or {}))


def _child_env(env: dict[str, str] | None, drop: tuple[str, ...]) -> dict[str, str]:
    full_env = {k: v for k, v in os.environ.items() if k not in drop}
    full_env["NO_COLOR"] = "1"
    if env:
        full_env.update(env)
    return full_env


def run_cli_subprocess(args: list[str], env: dict[str, str] | None = None, *, cwd: str | Path | None = None,
                       drop: tuple[str, ...] = ("COLUMNS",)) -> tuple[int, bytes, bytes]:
    """`python -m cpualloc_cli ARGS` in a new process (the real entry point): (rc, stdout, stderr)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "cpualloc_cli", *args], capture_output=True,
                          env=_child_env(env, drop), cwd=cwd, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


class _CliTimeout(BaseException):
    """Raised by SIGALRM in an in-process call that ran past the subprocess timeout."""


def run_cli_in_process(args: list[str], env: dict[str, str] | None = None, *, cwd: str | Path | None = None,
                       drop: tuple[str, ...] = ("COLUMNS",)) -> tuple[int, bytes, bytes]:
    """`cpualloc_cli.cli.run(ARGS)` in this process, as a fresh `python -m cpualloc_cli` would
    see it: the environment, working directory, umask, stdin/stdout/stderr (encodings and error
    handlers of a child's pipes), signal handlers, warning filters and recursion limit are set
    for the call and restored after it. Returns (rc, stdout bytes, stderr bytes)."""
    import io
    import signal
    import sys
    import tempfile
    import warnings

    if _needs_process(env):
        return run_cli_subprocess(args, env, cwd=cwd, drop=drop)
    from cpualloc_cli.cli import run

    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_umask = os.umask(0o022)
    os.umask(saved_umask)
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    saved_argv = sys.argv
    saved_limit = sys.getrecursionlimit()
    saved_tempdir = tempfile.tempdir
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGPIPE)}
    real_out = sys.__stdout__
    out_enc = getattr(real_out, "encoding", None) or "utf-8"
    out_errors = getattr(real_out, "errors", None) or "strict"
    out_buf, err_buf = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_buf, encoding=out_enc, errors=out_errors, write_through=False)
    err = io.TextIOWrapper(err_buf, encoding=out_enc, errors="backslashreplace", line_buffering=True)
    stdin = io.TextIOWrapper(io.BytesIO(b""), encoding=out_enc)

    def on_alarm(signum: int, frame: Any) -> None:
        raise _CliTimeout()

    try:
        os.environ.clear()
        os.environ.update(_child_env(env, drop))
        if cwd is not None:
            os.chdir(cwd)
        sys.stdin, sys.stdout, sys.stderr = stdin, out, err
        sys.argv = ["cpualloc", *args]
        tempfile.tempdir = None  # a child computes it from its own TMPDIR
        # a child's handlers: Python's SIGINT handler, the rest at their defaults
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(300)
        with warnings.catch_warnings():
            # the filters of a fresh interpreter without -W: shown on (the captured) stderr
            warnings.resetwarnings()
            for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                warnings.simplefilter("ignore", category)
            warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
            warnings.showwarning = _show_warning_on_stderr
            try:
                code = run(list(args))
                try:
                    out.flush()
                except (BrokenPipeError, OSError):
                    pass
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except _CliTimeout:
                raise TimeoutError(f"cpualloc {args} ran past 300 s") from None
            except BaseException:  # noqa: BLE001 - what the interpreter does with an uncaught exception
                import traceback

                traceback.print_exc(file=err)
                code = 1
        out.flush()
        err.flush()
        return code, out_buf.getvalue(), err_buf.getvalue()
    finally:
        signal.alarm(0)
        for signum, handler in saved_signals.items():
            signal.signal(signum, handler)
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        sys.argv = saved_argv
        sys.setrecursionlimit(saved_limit)
        tempfile.tempdir = saved_tempdir
        os.chdir(saved_cwd)
        os.umask(saved_umask)
        os.environ.clear()
        os.environ.update(saved_env)


def _show_warning_on_stderr(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                            file: Any = None, line: str | None = None) -> None:
    import sys
    import warnings

    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _text(data: bytes) -> str:
    """Bytes from a pipe as subprocess.run(text=True) decodes them (locale encoding, strict,
    universal newlines)."""
    import io
    import locale

    return io.TextIOWrapper(io.BytesIO(data), encoding=locale.getpreferredencoding(False)).read()


def run_cli(args: list[str], env: dict[str, str] | None = None, *, cwd: str | Path | None = None,
            drop: tuple[str, ...] = ("COLUMNS",)) -> tuple[int, str, str]:
    """Run cpualloc (`cpualloc_cli.cli.run`, in this process: see run_cli_in_process); returns
    (rc, stdout, stderr) as text. An `env` that sets PYTHON*/LC_*/LANG* variables, or
    CPUALLOC_TEST_SUBPROCESS=1 in the environment, runs `python -m cpualloc_cli` in a new process
    instead. Tests that need a process boundary (signals, rlimits, what gets imported, the
    start-up path) call run_cli_subprocess or subprocess themselves."""
    code, out, err = run_cli_in_process(args, env, cwd=cwd, drop=drop)
    return code, _text(out), _text(err)


def cli_json(args: list[str], rc: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a command with --format json; assert its exit code; return the document."""
    import json

    code, out, err = run_cli([*args, "--format", "json"], env=env)
    assert code == rc, (code, out, err)
    doc: dict[str, Any] = json.loads(out)
    return doc


def result(doc: dict[str, Any], rule: str) -> dict[str, Any]:
    """The result for `rule` in a `check --format json` document."""
    by = {r["rule"]: r for r in doc["results"]}
    assert rule in by, sorted(by)
    out: dict[str, Any] = by[rule]
    return out


# `pytest -m "not slow"` is the quick loop (README). A test is slow when it needs a real
# kernel or Linux tree (markers realkernel/srctree), lives in a module that is slow as a whole,
# or took (as a parametrised family) more than about 1.5 s in a full run (`pytest --durations=60`, 2 cores). Listed here,
# not in each file, so the list is one place to keep current.
_SLOW_MODULES = {"test_fuzz_slice.py", "test_kconfig_oracle.py", "test_lint.py", "test_percpu_boots.py"}
_SLOW_TESTS = {
    "test_top_lists_from_the_reachable_part_equal_those_from_the_full_order",
    "test_debian_bzimage_init_size_window",
    "test_debug_section_bombs_are_refused_before_inflating",
    "test_symbols_in_sections_65521_and_65522_match_gnu_nm",
    "test_debian_amd64_config_and_vmlinuz_fit",
    "test_gzip_of_a_gib_that_starts_like_an_elf_is_not_held_in_memory",
    "test_plain_documents_equal_json_dumps",
    "test_github_points_at_the_config_line",
    "test_debian_vmlinuz_extent_equals_system_map",
    "test_forged_entries_never_run_code",
    "test_unprivileged_user_takes_own_and_roots_policy_but_not_another_users",
    "test_check_and_sweep_agree_at_every_value",
    "test_gzip_fname_without_nul_is_not_scanned_per_candidate",
    "test_many_malformed_lines_are_counted_not_listed",
    "test_second_user_cannot_plant_into_a_shared_cache",
    "test_kconfigfunctions_in_cwd_or_pythonpath_is_never_imported",
    "test_root_job_skips_a_policy_planted_by_another_user",
    "test_option_numbers_through_the_entry_point",
    "test_any_config_text_resolves_or_is_a_config_error",
    "test_terminal_widths_cut_no_number",
    # Parametrised families whose cases are quick one by one but add up to seconds.
    "test_prediction_against_boot",
    "test_crashkernel_with_the_debian_config",
    "test_every_format_agrees_with_the_exit_code",
    "test_piped_output_cuts_no_number",
    "test_dwarf_walks_children_without_siblings_or_recursion",
    "test_modules_planted_in_cwd_are_not_imported_under_python_m",
    "test_vmemmap_predict_4096_from_lower_builds",
    # kallsyms of two real bzImages decoded per call (issue 16)
    "test_scale_over_two_bzimages_finds_the_nr_cpus_arrays",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        name = getattr(item, "originalname", item.name)
        if (
            item.path.name in _SLOW_MODULES
            or name in _SLOW_TESTS
            or item.get_closest_marker("realkernel")
            or item.get_closest_marker("srctree")
        ):
            item.add_marker(pytest.mark.slow)
