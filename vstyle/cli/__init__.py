"""The ``vstyle`` command line: the only place that parses arguments, prints, logs and exits."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from vstyle import __version__
from vstyle.cli.exits import EXIT_ERROR as EXIT_ERROR
from vstyle.cli.exits import EXIT_INTERRUPTED as EXIT_INTERRUPTED
from vstyle.cli.exits import EXIT_TERMINATED as EXIT_TERMINATED
from vstyle.cli.exits import EXIT_USAGE as EXIT_USAGE
from vstyle.cli.exits import Terminated as Terminated
from vstyle.cli.exits import interrupted, sigterm_as_interrupt
from vstyle.cli.models import (
    add_build,
    add_eval,
    add_export,
    add_train,
    cmd_build,
    cmd_eval,
    cmd_export,
    cmd_train,
)
from vstyle.cli.reports import add_bench, add_info, add_styles, cmd_bench, cmd_info, cmd_styles
from vstyle.cli.video import TEMPLATE_FIELDS as TEMPLATE_FIELDS  # public: the fields -o may name
from vstyle.cli.video import add_demo, add_live, add_render, cmd_demo, cmd_live, cmd_render
from vstyle.errors import VStyleError

log = logging.getLogger("vstyle")


class _Parser(argparse.ArgumentParser):
    """argparse with a malformed command line reported as every other error is: one line (no usage
    dump), saying where the help is; exit status 2, a usage error. Subcommands inherit it."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("vstyle").strip()
        where = f"{command}: " if command else ""
        self.exit(EXIT_USAGE, f"vstyle: error: {where}{message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vstyle", description="Turn live or recorded video into moving paintings.")
    parser.add_argument("--version", action="version", version=f"vstyle {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_render(sub)
    add_live(sub)
    add_demo(sub)
    add_export(sub)
    add_train(sub)
    add_eval(sub)
    add_build(sub)
    add_bench(sub)
    add_info(sub)
    add_styles(sub)
    return parser


COMMANDS = {
    "train": cmd_train,
    "render": cmd_render,
    "live": cmd_live,
    "demo": cmd_demo,
    "export": cmd_export,
    "build": cmd_build,
    "eval": cmd_eval,
    "bench": cmd_bench,
    "info": cmd_info,
    "styles": cmd_styles,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vstyle`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the exact command, for records
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        with sigterm_as_interrupt():
            return COMMANDS[args.command](args)
    except VStyleError as error:
        print(f"vstyle: error: {error}", file=sys.stderr)
        if args.verbose >= 2:
            raise
        return EXIT_ERROR
    except KeyboardInterrupt as error:
        print(f"vstyle: interrupted{_kept_phrase(error)}", file=sys.stderr)
        return interrupted(error)
    except Exception as error:  # a bug, not bad input: one line, the traceback on request
        print(
            f"vstyle: internal error: {type(error).__name__}: {error} (run with -vv for the traceback)",
            file=sys.stderr,
        )
        if args.verbose >= 2:
            raise
        return EXIT_ERROR


def _kept_phrase(error: KeyboardInterrupt) -> str:
    """What an interrupted command left, as the end of its one-line message."""
    from vstyle.render import KEPT

    kept = getattr(error, KEPT, None)
    if kept is None:  # no output file was involved (a window, null, or not a rendering command)
        return ""
    if not kept:
        return "; no frame had been written, so no output was left"
    return "; kept " + ", ".join(kept)
