"""A click group whose commands are imported when one of them is used, not when the group is built.

Each command is registered by name with where it lives (`module:attribute`) and the first sentence of its
help, which is all that the group's `--help` lists. So `pairchive --help` imports no command module, and
`pairchive search` (or `pairchive search --help`) imports only the module of `search`.

Why a registry that knows each summary, rather than importing every command module for the listing and
keeping them all light: the commands are thin shells over the floors below, and those floors are what costs
(SQLAlchemy and the WARC reader for the archive's commands, Alembic for `db`, APScheduler for the schedule).
Importing them all for a listing would load each of them for every command; with the registry a module's
imports cost only the commands that live in it. The few commands that run the crawl's stages (`extract`,
`reprocess`, `sources check`) import them in their bodies, so that their own `--help` and the other
commands of their module stay light too. The price is a summary written twice, beside the registration and
in the command's docstring; a test checks that the two agree, so the listing cannot drift from the commands.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from gettext import gettext as _

import click


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives, `module:attribute`, and its help's first paragraph (for the group's listing)."""

    target: str
    summary: str

    def load(self) -> click.Command:
        module_name, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command

    def stand_in(self, name: str) -> click.Command:
        """A command with nothing but the summary as its help: what the listing needs of the real one."""
        return click.Command(name, help=self.summary)


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands by name: a registered one is imported on its first lookup, then kept.

    Listing the names (iterating, `in`, `len`) imports nothing; so click's `list_commands`, and the
    parsing of a command line down to the one command it names, import only that command's module.
    """

    def __init__(self, registry: Mapping[str, LazyCommand]) -> None:
        self.registry = dict(registry)
        self.loaded: dict[str, click.Command] = {}

    def is_loaded(self, name: str) -> bool:
        return name in self.loaded

    def listed(self, name: str) -> click.Command | None:
        """The command as a listing shows it: itself once loaded, else a stand-in with its summary."""
        if name in self.loaded:
            return self.loaded[name]
        if name in self.registry:
            return self.registry[name].stand_in(name)
        return None

    def __getitem__(self, name: str) -> click.Command:
        if name not in self.loaded:
            if name not in self.registry:
                raise KeyError(name)
            self.loaded[name] = self.registry[name].load()
        return self.loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self.registry.pop(name, None)
        self.loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self.registry, *self.loaded]))

    def __len__(self) -> int:
        return len(self.registry.keys() | self.loaded.keys())

    def __contains__(self, name: object) -> bool:
        return name in self.registry or name in self.loaded


class LazyGroup(click.Group):
    """A click group given LazyCommands (`commands=LazyCommands(...)`); its `--help` lists a command not
    imported yet by its summary."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's own listing (Group.format_commands), with a stand-in for each command not loaded."""
        commands = self.commands
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            command = (
                commands.listed(name) if isinstance(commands, LazyCommands) else self.get_command(ctx, name)
            )
            if command is not None and not command.hidden:
                rows.append((name, command))
        if rows:
            # as click does: room for three times the default spacing
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section(_("Commands")):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in rows])
