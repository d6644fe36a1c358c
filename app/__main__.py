"""`python -m app [serve|web|worker|demo|check|protect]`: the command line. Each command is a
module of app/commands with `main(args) -> int`, imported only when it runs."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app import log_throttle


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    module: str  # in app/commands: its `main(args) -> int` runs the command
    arguments: Callable[[argparse.ArgumentParser], None] = lambda _parser: None


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8000, help="the service's port")
    parser.add_argument("--no-serve", action="store_true", help="exit after printing the check run")


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", default=".", help="the project (default: .)")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print the end of the log of passing checks"
    )


def _protect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repository", metavar="OWNER/REPO", help="the repository")
    parser.add_argument(
        "--branch", help="the branch to protect (default: the repository's default branch)"
    )


COMMANDS = (
    Command(
        "serve",
        "run the service and its workers in one process (the default); settings from the "
        "environment",
        "serve",
    ),
    Command(
        "web", "answer webhooks and serve pages, run no tests (with `worker` processes)", "serve"
    ),
    Command("worker", "run tests from the shared queue (DATABASE_URL), serve nothing", "worker"),
    Command(
        "demo",
        "run the service against a built-in local GitHub and show a real check run",
        "demo",
        _demo_arguments,
    ),
    Command(
        "check",
        "run a local checkout's checks as the service would, and print them",
        "check",
        _check_arguments,
    ),
    Command(
        "protect",
        "make a branch require Conveyor's checks (branch protection), or say how",
        "protect",
        _protect_arguments,
    ),
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app", description="Conveyor: continuous integration as a GitHub App."
    )
    subparsers = parser.add_subparsers(dest="command")
    for command in COMMANDS:
        command.arguments(subparsers.add_parser(command.name, help=command.help))
    args = parser.parse_args(argv)
    args.command = args.command or "serve"
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    log_throttle.install()
    (chosen,) = (command for command in COMMANDS if command.name == args.command)
    run: Callable[[argparse.Namespace], int] = importlib.import_module(
        f"app.commands.{chosen.module}"
    ).main
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
