"""The command line: the only layer that knows click, argv, exit codes and terminals.

Subcommands are imported lazily so that `cpualloc --help` stays fast, and the hottest command
line (`inspect --format json [--symbols] IMAGE`) runs without importing click at all
(cli/fast.py); everything else goes through the click group in cli/group.py.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from cpualloc_cli import TOOL_NAME
from cpualloc_cli.errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_USAGE, CpuallocError


def __getattr__(name: str) -> Any:
    """`cli` (the click group), `COMMANDS` and `LazyGroup` are in cli/group.py, loaded on use."""
    if name in ("cli", "COMMANDS", "LazyGroup"):
        from cpualloc_cli.cli import group

        return getattr(group, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _error_line(text: str) -> None:
    from cpualloc_cli.render.safe import clean

    sys.stderr.write(f"{TOOL_NAME}: error: {clean(text)}\n")  # paths and input text: never raw escapes


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code (no sys.exit), for tests and main()."""
    args = list(sys.argv[1:] if argv is None else argv)
    want_traceback = "--traceback" in args
    from cpualloc_cli.cli.fast import fast_command

    fast: Callable[[], int] | None = fast_command(args)
    if fast is not None:
        try:
            return fast()
        except BaseException as exc:  # noqa: B036 - _failure re-raises what it does not handle
            return _failure(exc, want_traceback)
    import click

    from cpualloc_cli.cli.group import cli

    try:
        rv: Any = cli.main(args=args, prog_name=TOOL_NAME, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        _error_line("aborted")
        return 130
    except click.exceptions.UsageError as exc:
        exc.show()
        return EXIT_USAGE
    except click.exceptions.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except BaseException as exc:  # noqa: B036 - _failure re-raises what it does not handle
        return _failure(exc, want_traceback)
    if isinstance(rv, int):
        return rv
    return 0


def _failure(exc: BaseException, want_traceback: bool) -> int:
    """The exit code for an exception out of a command (called inside its except block)."""
    if isinstance(exc, CpuallocError):
        if want_traceback:
            import traceback

            traceback.print_exc()
        _error_line(exc.one_line())
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        _error_line("interrupted")
        return 130
    if isinstance(exc, BrokenPipeError):
        # The reader went away (e.g. `| head`): not our error.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return 0
    if isinstance(exc, Exception):  # the last fence: anything here is a bug (RecursionError included:
        return _internal(exc, want_traceback)  # never input-dependent by design)
    raise exc


def _internal(exc: BaseException, want_traceback: bool) -> int:
    if want_traceback:
        import traceback

        traceback.print_exception(exc)
    detail = " ".join(str(exc).split())[:200]
    _error_line(
        f"internal error: {type(exc).__name__}: {detail}; this is a bug in cpualloc, "
        "please report it with the output of --traceback"
    )
    return EXIT_INTERNAL


def main(argv: list[str] | None = None) -> NoReturn:
    code = run(argv)
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass
    sys.exit(code)


__all__ = ["main", "run", "EXIT_INPUT", "EXIT_INTERNAL", "EXIT_USAGE"]
