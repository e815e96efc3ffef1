"""`episode`, the installed command: Invoke's `Program` showing and accepting only its own options.

Invoke is a task runner first: its core options (`--dry`, `--pty`, `--echo`, `-f FILE`,
`--prompt-for-sudo-password`…) configure the shell commands tasks run, which `episode` never
does. They stay defined (Invoke's own code reads them by name) but are neither listed in the
help nor accepted: one given is one line, exit code 1. `--help` after a command is that
command's help, and an unknown command gets a suggestion.
"""

from __future__ import annotations

import difflib
import inspect
import os
import re
import sys
from pathlib import Path

from invoke.completion.complete import complete
from invoke.exceptions import ParseError
from invoke.parser.context import ParserContext
from invoke.parser.parser import Parser
from invoke.program import Program

# The core options `episode` keeps: help, version, and shell completion (hidden from the help).
OWN = ("help", "version", "complete", "print-completion-script")
SHOWN = ("help", "version")  # of OWN, those the help lists
HELP = ("--help", "-h")


_NO_VALUE = r"Flag <Argument: (\w+)(?: \(\w\))?> needed value and was not given one!"


class EpisodeProgram(Program):
    """Invoke's Program with only `episode`'s own options, and help that shows only them."""

    def normalize_argv(self, argv: list[str] | None) -> None:
        """`episode send --help` (or `-h` anywhere after a command) asks for that command's help:
        written as Invoke reads it (`episode --help send`), so no command's argument takes the
        `--help` for a value."""
        super().normalize_argv(argv)
        args = self.argv[1:]
        names = set(self.namespace.task_names) if self.namespace is not None else set()
        command = next((a for a in args if a in names), None)
        if command is not None and any(a in HELP for a in args[args.index(command) + 1 :]):
            self.argv = [self.argv[0], *args[: args.index(command)], "--help", command]

    def parse_core_args(self) -> None:
        super().parse_core_args()
        self._refuse_runner_options()  # before Invoke acts on any (`-f FILE` loads a config file)

    def parse_tasks(self) -> None:
        try:
            super().parse_tasks()
        except ParseError as exc:
            raise ParseError(self._explained(str(exc))) from None
        self._refuse_runner_options()

    def _refuse_runner_options(self) -> None:
        for argument in self.core[0].args.values():
            if argument.name not in OWN and argument.got_value:
                flag = f"--{argument.name}"
                hint = " (each command takes --config FILE after it)" if argument.name == "config" else ""
                raise ParseError(
                    f"error: {flag}: not an option of {self.binary}{hint}; see {self.binary} --help"
                )

    def _explained(self, message: str) -> str:
        """Invoke's "No idea what 'x' is!" as one line with a suggestion."""
        missing = re.fullmatch(r"'([\w-]+)' did not receive required positional arguments: (.*)", message)
        if missing is not None:
            return self._missing(missing[1], re.findall(r"'(\w+)'", missing[2]))
        no_value = re.fullmatch(
            r"Flag <Argument: (\w+)(?: \(\w\))?> needed value and was not given one!", message
        )
        if no_value is not None:
            return self._no_value(no_value[1])
        prefix, quote = "No idea what '", "' is!"
        if not (message.startswith(prefix) and message.endswith(quote)):
            return message if message.startswith("error: ") else f"error: {message}"
        word = message[len(prefix) : -len(quote)]
        names = sorted(self.namespace.task_names) if self.namespace is not None else []
        if word.startswith("-"):
            return self._unknown_option(word)
        close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
        if close:
            return f"error: unknown command '{word}': did you mean {close[0]}?"
        if Path(word).exists() or word.endswith((".md", ".markdown")):
            return f"error: '{word}' is no command: to name posts, give --src {word} after the command"
        return f"error: unknown command '{word}'; commands: {', '.join(names)}"

    def _no_value(self, name: str) -> str:
        """Invoke's "Flag <Argument: src (s)> needed value…" as `error: build: --src needs a value:
        a post file, …` (its help)."""
        command = self._command_before(None)
        flag = f"--{name.replace('_', '-')}"
        context = self._context(command) if command is not None else None
        argument = context.args.get(name) if context is not None else None
        said = f": {argument.help}" if argument is not None and argument.help else ""
        where = f"{command}: " if command is not None else ""
        return f"error: {where}{flag} needs a value{said}"

    def _unknown_option(self, flag: str) -> str:
        """`episode build --no-pdf`: the command's options, the closest one suggested."""
        command = self._command_before(flag)
        if command is None:
            return f"error: {flag}: not an option of {self.binary}; see {self.binary} --help"
        context = self._context(command)
        known = [*context.flags, *context.inverse_flags] if context is not None else []
        flags = sorted(f for f in known if f.startswith("--"))
        close = difflib.get_close_matches(flag.split("=")[0], flags, n=1, cutoff=0.6)
        hint = f": did you mean {close[0]}?" if close else f"; see {self.binary} {command} --help"
        return f"error: {command}: no option {flag}{hint}"

    def _command_before(self, argument: str | None) -> str | None:
        """The command an argument of the command line belongs to: the last one before it (the
        last one of all when `argument` is None or not there)."""
        args = self.argv[1:]
        before = args[: args.index(argument)] if argument in args else args
        names = set(self.namespace.task_names) if self.namespace is not None else set()
        return next((a for a in reversed(before) if a in names), None)

    def _context(self, command: str) -> ParserContext | None:
        """The parser's context of `command` (its flags and their help), once there is a parser."""
        return self.parser.contexts.get(command) if getattr(self, "parser", None) else None

    def _own(self) -> ParserContext:
        """The core options `episode` shows: help and version."""
        return ParserContext(args=[a for a in self.initial_context.args.values() if a.name in SHOWN])

    def parse_cleanup(self) -> None:
        help_for = self.args.help.value
        if isinstance(help_for, str) and help_for not in self.parser.contexts:
            raise ParseError(self._explained(f"No idea what '{help_for}' is!"))
        if self.args.complete.value:
            # Shell completion offers `episode`'s own options, not the runner's.
            own = self._own()
            contexts = self.collection.to_contexts(ignore_unknown_help=self.config.tasks.ignore_unknown_help)
            complete(
                names=self.binary_names,
                core=self.core,
                initial_context=own,
                collection=self.collection,
                parser=Parser(initial=own, contexts=contexts),
            )
        super().parse_cleanup()

    def _missing(self, command: str, names: list[str]) -> str:
        """Invoke's "'send' did not receive required positional arguments: 'src'" as what the
        user types: `error: send: give --src (the post to send); see episode send --help`."""
        if names == ["platform"]:  # written after the command, as the help and the README show it
            return f"error: {command}: which platform? {self.binary} {command} youtube"
        context = self._context(command)
        wanted = []
        for name in names:
            # Invoke moves each help text from the task onto its parser argument.
            argument = context.args.get(name) if context is not None else None
            said = argument.help if argument is not None and argument.help else ""
            wanted.append(f"--{name.replace('_', '-')}" + (f" ({said})" if said else ""))
        return f"error: {command}: give {', '.join(wanted)}; see {self.binary} {command} --help"

    def run(self, argv: list[str] | None = None, exit: bool = True) -> None:
        """Invoke's run; output cut short by its reader (`episode check | head`) ends quietly,
        whether the command returned or exited (`--version`, an error's exit code)."""
        try:
            try:
                super().run(argv, exit)
            finally:
                sys.stdout.flush()  # here, not at interpreter exit, where a closed pipe is a traceback
        except BrokenPipeError:
            # Python's own advice: point stdout at devnull so the exit flush cannot fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)

    def print_help(self) -> None:
        print(f"Usage: {self.binary} <command> [--options]")
        print("")
        print("Options:")
        print("")
        self.print_columns(self._own().help_tuples())
        self.list_tasks()
        print(f"`{self.binary} <command> --help` shows a command's options.")

    def print_task_help(self, name: str) -> None:
        context = self.parser.contexts[name]
        rows = context.help_tuples()
        print(f"Usage: {self.binary} {name} {'[--options]' if rows else ''}".rstrip())
        print("")
        docstring = inspect.getdoc(self.collection[name])
        for line in (docstring or "").splitlines():
            print(self.leading_indent + line if line.strip() else "")
        print("")
        print("Options:")
        if rows:
            self.print_columns(rows)
        else:
            print(self.leading_indent + "none")
            print("")
