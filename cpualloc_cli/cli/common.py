"""Options and plumbing shared by every subcommand: --format, -o/--output, colour,
tracebacks, and writing the report atomically."""

from __future__ import annotations

import io
import mmap
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from cpualloc_cli.errors import InputError, UsageError

F = TypeVar("F", bound=Callable[..., Any])

TEXT_WIDTH_NOT_TTY = 120


@dataclass(frozen=True)
class OutputOptions:
    format: str
    output: str | None
    no_color: bool
    traceback: bool

    @property
    def to_terminal(self) -> bool:
        return self.output is None and sys.stdout.isatty()

    @property
    def color(self) -> bool:
        if self.no_color or os.environ.get("NO_COLOR"):
            return False
        return self.to_terminal


def output_options(formats: Sequence[str] = ("text", "json")) -> Callable[[F], F]:
    """Decorator adding --format, -o/--output, --no-color and --traceback."""

    def deco(fn: F) -> F:
        fn = click.option("--traceback", "traceback_", is_flag=True,
                          help="Show the Python traceback for errors.")(fn)
        fn = click.option("--no-color", "no_color", is_flag=True, help="No colour in text output.")(fn)
        fn = click.option("-o", "--output", "output", metavar="FILE", default=None,
                          help="Write the report to FILE (atomically) instead of stdout.")(fn)
        fn = click.option("--format", "format_", type=click.Choice(list(formats)), default="text",
                          show_default=True, help="Output format.")(fn)
        return fn

    return deco


def make_output(format_: str, output: str | None, no_color: bool, traceback_: bool) -> OutputOptions:
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root().obj if ctx is not None and ctx.find_root().obj else {}
    return OutputOptions(
        format=format_,
        output=output,
        no_color=no_color or bool(root.get("no_color")),
        traceback=traceback_ or bool(root.get("traceback")),
    )


def size_option(value: str | None, name: str) -> int | None:
    """A SIZE option (`8MiB`, `512K`, `4096`) in bytes; a bad one is a usage error naming the option."""
    if value is None:
        return None
    from cpualloc_cli.model.measures import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise UsageError(f"{name}: {exc}") from None


def text_width(opts: OutputOptions) -> int:
    if opts.to_terminal:
        import shutil  # (text output only, which loads rich and shutil anyway)

        return max(60, shutil.get_terminal_size((TEXT_WIDTH_NOT_TTY, 24)).columns)
    return TEXT_WIDTH_NOT_TTY


def render_rich(opts: OutputOptions, draw: Callable[[Any], None]) -> str:
    """Render with rich into a string; `draw(console)` prints the report onto the console."""
    from rich.console import Console

    buf = io.StringIO()
    console = Console(
        file=buf,
        force_terminal=opts.color,
        no_color=not opts.color,
        color_system="auto" if opts.color else None,
        width=text_width(opts),
        highlight=False,
        emoji=False,
        soft_wrap=False,
    )
    draw(console)
    return buf.getvalue()


def write_atomic(path: str, data: bytes | mmap.mmap) -> None:
    """Write to a temporary file beside `path` and rename it: a failed run leaves no
    partial file and never truncates an existing one."""
    if os.path.isdir(path):
        raise UsageError(f"{path} is a directory", hint="give a file name to --output")
    target = _atomic_target(path)
    if target is None:
        # A device or a pipe (/dev/null, /dev/stdout, a FIFO): write straight to it. Renaming a
        # temporary over it would replace the device node itself.
        try:
            with open(path, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise InputError(f"cannot write output: {exc.strerror or exc}", path=path) from None
        return
    path = target
    directory = os.path.dirname(os.path.abspath(path)) or "."
    try:
        import tempfile  # (only when writing a file: keeps it off every run's import time)

        fd, tmp = tempfile.mkstemp(prefix=".cpualloc-", dir=directory)
    except OSError as exc:
        raise InputError(f"cannot write output: {exc.strerror}", path=path) from None
    try:
        # mkstemp makes the file 0600: give it the mode a plain open() would (an existing
        # file keeps its own mode).
        try:
            mode = os.stat(path).st_mode & 0o7777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):  # disk full, read-only directory, ...: exit 3, not a bug
            raise InputError(f"cannot write output: {exc.strerror or exc}", path=path) from None
        raise


def _atomic_target(path: str) -> str | None:
    """The regular file to replace atomically for `path`, or None when `path` is (or links to)
    something that is not a regular file, or lives under /dev or /proc."""
    import stat

    real = os.path.realpath(path)
    if real.startswith(("/dev/", "/proc/")):
        return None
    try:
        st = os.stat(real)
    except OSError:
        return real  # does not exist yet: create it
    return real if stat.S_ISREG(st.st_mode) else None


def emit(opts: OutputOptions, text: str) -> None:
    """Send the finished report to stdout or to --output."""
    if opts.output is not None:
        # surrogateescape: names decoded from invalid UTF-8 go back out as the original bytes,
        # as they do on stdout (found by fuzz/run.py: exit 4 on `inspect -o`)
        write_atomic(opts.output, text.encode("utf-8", "surrogateescape"))
        return
    sys.stdout.write(text)
    sys.stdout.flush()


def warn(message: str) -> None:
    """A diagnostic on stderr (never on stdout, so `| jq` always works)."""
    sys.stderr.write(f"cpualloc: warning: {message}\n")


def note(message: str) -> None:
    sys.stderr.write(f"cpualloc: {message}\n")


class progress:  # noqa: N801 - used as a context manager, reads like a statement
    """A rich progress bar on stderr for reads that take more than about a second, only when
    stderr is a terminal. Indeterminate: the adapters do not report partial progress."""

    DELAY_S = 1.0

    def __init__(self, label: str) -> None:
        self.label = label
        self._timer: Any = None
        self._progress: Any = None

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                  TimeElapsedColumn(), console=Console(file=sys.stderr), transient=True)
        self._progress.add_task(self.label, total=None)
        self._progress.start()

    def __enter__(self) -> progress:
        if sys.stderr.isatty() and not os.environ.get("CI"):
            import threading

            self._timer = threading.Timer(self.DELAY_S, self._start)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer.join()
        if self._progress is not None:
            self._progress.stop()
