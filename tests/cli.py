"""Running a `pairchive` command in this process (click's CliRunner over crawler.cli:main), for the tests
about what a command says and does rather than about its process: no interpreter to start and no imports
to repeat, a second or more a command on a loaded machine.

Only for commands that need no fresh Twisted reactor (everything but crawl, daemon, demo and reprocess).
The real console script, its exit statuses and its clean stderr are still run as a subprocess by
tests.crawls.pairchive and the tests of the process itself (test_output_safety, test_cli_input...).
"""

from __future__ import annotations

import logging
import subprocess

from click.testing import CliRunner

from crawler.cli import main
from storage.db import close_all


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`pairchive ARGS` run here, as tests.crawls.pairchive runs it as a process: exit status, stdout and
    stderr apart. An exception that escapes the command is raised, as a traceback is a failure wherever it
    shows."""
    # A command's process has no log handler but Python's last resort (warnings and errors on stderr);
    # here pytest's capture would take them: set it aside, so stderr holds what the process's would.
    root = logging.getLogger()
    handlers = root.handlers[:]
    for handler in handlers:
        root.removeHandler(handler)
    try:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    finally:
        for handler in handlers:
            root.addHandler(handler)
    close_all()  # the command's engines end with it, as they would with its process
    return subprocess.CompletedProcess(["pairchive", *args], result.exit_code, result.stdout, result.stderr)
