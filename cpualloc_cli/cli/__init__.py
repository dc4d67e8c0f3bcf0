"""The command line: the only layer that knows click, argv, exit codes and terminals.

Subcommands are imported lazily so that `cpualloc --help` stays fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any, NoReturn

import click

from cpualloc_cli import TOOL_NAME, __version__
from cpualloc_cli.errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_USAGE, CpuallocError

# name -> (module, attribute, one-line help). The help is here so that listing the
# commands does not import them.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "inspect": ("cpualloc_cli.cli.inspect_cmd", "inspect",
                "Read kernel images: sizes, sections, extent, per-cpu, symbols."),
    "extract": ("cpualloc_cli.cli.extract_cmd", "extract",
                "Write the vmlinux or the embedded .config out of a compressed image."),
    "config": ("cpualloc_cli.cli.config_cmd", "config",
                "Resolve a Kconfig configuration and show the footprint-relevant symbols."),
    "footprint": ("cpualloc_cli.cli.footprint_cmd", "footprint",
                "Footprint of each per-cpu design for a config and/or image."),
    "sweep": ("cpualloc_cli.cli.sweep_cmd", "sweep",
                "Vary NR_CPUS (or another symbol) and find the largest value that fits."),
    "check": ("cpualloc_cli.cli.check_cmd", "check",
                "Check a config and/or image against every applicable limit (CI lint step)."),
    "diff": ("cpualloc_cli.cli.diff_cmd", "diff",
                "What grew between two images (bloat-o-meter, with budgets)."),
    "scale": ("cpualloc_cli.cli.scale_cmd", "scale",
                "Fit how each symbol scales with NR_CPUS from images built at several values."),
    "limits": ("cpualloc_cli.cli.limits_cmd", "limits",
                "List the limits database with its sources."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _available(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not _available(cmd_name):
            return None
        module = importlib.import_module(entry[0])
        cmd = getattr(module, entry[1])
        assert isinstance(cmd, click.Command)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _available(name: str) -> bool:
    module = COMMANDS[name][0]
    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name=TOOL_NAME, message="%(prog)s %(version)s")
@click.option("--traceback", is_flag=True, help="Show the Python traceback for errors (for bug reports).")
@click.option("--no-color", is_flag=True, help="No colour in text output (NO_COLOR is honoured too).")
@click.pass_context
def cli(ctx: click.Context, traceback: bool, no_color: bool) -> None:
    """cpualloc: will this kernel fit its platform, and if not, why not and what would fit?

    Exit codes: 0 fits, 1 limit violations or budget overruns, 2 usage error,
    3 bad or unreadable input, 4 internal error (a bug in cpualloc).
    """
    ctx.ensure_object(dict)
    ctx.obj["traceback"] = traceback
    ctx.obj["no_color"] = no_color


def _error_line(text: str) -> None:
    from cpualloc_cli.render.safe import clean

    sys.stderr.write(f"{TOOL_NAME}: error: {clean(text)}\n")  # paths and input text: never raw escapes


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code (no sys.exit), for tests and main()."""
    args = list(sys.argv[1:] if argv is None else argv)
    want_traceback = "--traceback" in args
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
    except CpuallocError as exc:
        if want_traceback:
            import traceback

            traceback.print_exc()
        _error_line(exc.one_line())
        return exc.exit_code
    except KeyboardInterrupt:
        _error_line("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not our error.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return 0
    except RecursionError as exc:  # never input-dependent by design: treat as a bug
        return _internal(exc, want_traceback)
    except Exception as exc:  # noqa: BLE001 - the last fence: anything here is a bug
        return _internal(exc, want_traceback)
    if isinstance(rv, int):
        return rv
    return 0


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


__all__ = ["cli", "main", "run", "EXIT_INPUT", "EXIT_INTERNAL"]
