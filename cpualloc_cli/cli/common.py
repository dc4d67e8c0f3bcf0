"""Options and plumbing shared by every subcommand: --format, -o/--output, colour,
tracebacks, and writing the report atomically."""

from __future__ import annotations

import io
import mmap
import os
import stat
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

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

    import click  # (here, not at the top: the fast inspect path never loads click)

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
    import click

    ctx = click.get_current_context(silent=True)
    root = ctx.find_root().obj if ctx is not None and ctx.find_root().obj else {}
    check_output_name(output)
    return OutputOptions(
        format=format_,
        output=output,
        no_color=no_color or bool(root.get("no_color")),
        traceback=traceback_ or bool(root.get("traceback")),
    )


def check_output_name(output: str | None, option: str = "-o/--output") -> None:
    """Refuse `-o ''` at once (exit 2), before any work, with a message that says so."""
    if output is not None and not output:
        raise UsageError(f"{option}: empty file name", hint=f"give a file name, or leave out {option}")


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


_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def write_atomic(path: str, data: bytes | mmap.mmap, *, option: str = "-o/--output") -> None:
    """Write `data` to the regular file `path` atomically: a temporary file beside it (created
    with O_EXCL|O_NOFOLLOW), fsync, rename. A failed or killed run leaves no partial file, no
    temporary file (SIGTERM and SIGINT clean it up) and never truncates an existing one.

    Refused with exit 3, before anything is opened: a `path` that is a symbolic link (renaming
    over its target would let a planted link replace any file the user can write), a directory,
    a FIFO (opening it would hang), a device or a socket. All steps go through one descriptor of
    the parent directory, so no path is looked up twice."""
    check_output_name(path, option)
    directory, name = os.path.split(path)
    if name in ("", ".", ".."):
        raise InputError("names a directory", path=path, hint=f"give a file name to {option}")
    try:
        dfd = os.open(directory or ".", os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    except OSError as exc:
        raise InputError(f"cannot write output: directory {directory or '.'}: {exc.strerror or exc}",
                         path=path) from None
    try:
        try:
            st: os.stat_result | None = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise InputError(f"cannot write output: {exc.strerror or exc}", path=path) from None
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise InputError(f"cannot write output: {_not_regular(st.st_mode)}", path=path,
                             hint=_not_regular_hint(st.st_mode, option))
        if st is not None:
            mode = stat.S_IMODE(st.st_mode)  # an existing file keeps its mode
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask  # the mode a plain open() would give
        _write_replace(dfd, name, path, data, mode)
    finally:
        os.close(dfd)


def _not_regular(mode: int) -> str:
    for test, what in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return f"is {what}, not a regular file"
    return "not a regular file"


def _not_regular_hint(mode: int, option: str) -> str:
    if stat.S_ISLNK(mode):
        return "cpualloc does not write through a symbolic link; give the file it points to, or remove the link"
    if stat.S_ISDIR(mode):
        return f"give a file name to {option}, not a directory"
    return f"to write into a pipe or a device, leave out {option} and redirect stdout"


def _write_replace(dfd: int, name: str, path: str, data: bytes | mmap.mmap, mode: int) -> None:
    """Create a temporary file in `dfd`, write, fsync and rename it to `name`; unlink it on any
    failure and on SIGTERM/SIGINT (handlers installed for the duration, restored after)."""
    import secrets
    import signal
    import threading

    tmp: list[str] = []  # the temporary's name once it exists (read by the signal handler)

    def cleanup() -> None:
        while tmp:
            try:
                os.unlink(tmp.pop(), dir_fd=dfd)
            except OSError:
                pass

    previous: dict[int, Any] = {}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        previous.clear()

    def on_signal(signum: int, frame: Any) -> None:
        cleanup()
        old = previous.get(signum, signal.SIG_DFL)
        restore()
        if callable(old):
            old(signum, frame)  # Python's SIGINT handler raises KeyboardInterrupt
        else:
            os.kill(os.getpid(), signum)  # SIG_DFL: die of the signal, as without us

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            old = signal.getsignal(signum)
            if old is signal.SIG_IGN or old is None:
                continue  # ignored (e.g. nohup): it cannot interrupt us
            previous[signum] = old
            signal.signal(signum, on_signal)
    try:
        fd = -1
        for _ in range(100):
            candidate = f".cpualloc-{secrets.token_hex(6)}.tmp"
            # Signals held while the file is created and recorded: a handler then never misses
            # our temporary nor unlinks a name it did not create.
            masked = previous and hasattr(signal, "pthread_sigmask")
            if masked:
                held = signal.pthread_sigmask(signal.SIG_BLOCK, set(previous))
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600,
                             dir_fd=dfd)
                tmp.append(candidate)
                break
            except FileExistsError:
                continue
            finally:
                if masked:
                    signal.pthread_sigmask(signal.SIG_SETMASK, held)
        else:
            raise InputError("cannot write output: no free temporary name", path=path)
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp[0], name, src_dir_fd=dfd, dst_dir_fd=dfd)
        tmp.clear()
        try:
            os.fsync(dfd)  # the rename itself reaches the disk
        except OSError:
            pass
    except BaseException as exc:
        cleanup()
        if isinstance(exc, OSError):  # disk full, read-only directory, ...: exit 3, not a bug
            raise InputError(f"cannot write output: {exc.strerror or exc}", path=path) from None
        raise
    finally:
        restore()


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
    from cpualloc_cli.render.safe import clean

    sys.stderr.write(f"cpualloc: warning: {clean(message)}\n")  # input strings reach no terminal raw


def note(message: str) -> None:
    from cpualloc_cli.render.safe import clean

    sys.stderr.write(f"cpualloc: {clean(message)}\n")


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
