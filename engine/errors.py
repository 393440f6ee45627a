"""One hierarchy of errors, rooted in HookyardError, each saying what went wrong and what to do."""

from __future__ import annotations

from collections.abc import Sequence


class HookyardError(Exception):
    """Base of every error the engine raises on purpose."""


class ConfigError(HookyardError, ValueError):
    """A pipeline file or override is malformed; names the file and line where known."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)


class PluginError(HookyardError):
    """Something is wrong with finding, loading or building a plugin."""


class UnknownKindError(PluginError, KeyError):
    """A kind that the engine does not define was asked for."""

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownPluginError(PluginError, KeyError):
    """No plugin of that kind answers to that name."""

    def __init__(self, message: str, *, kind: str, name: str, available: Sequence[str]) -> None:
        super().__init__(message)
        self.kind = kind
        self.name = name
        self.available = tuple(available)

    def __str__(self) -> str:
        return str(self.args[0])


class PluginConflictError(PluginError):
    """Two registrations claim one name of one kind."""


class PluginMissingError(PluginError, ImportError):
    """A registered plugin whose requirements are not installed was asked for."""


class PluginLoadError(PluginError):
    """A distribution's entry point could not be imported or failed validation (strict mode)."""


class PluginBuildError(PluginError):
    """A plugin's factory raised while building an instance."""


class OptionError(HookyardError, TypeError):
    """Options that a plugin or step does not declare, or of the wrong type."""


class PipelineError(HookyardError):
    """A pipeline could not be validated or run."""


class PipelineValidationError(PipelineError, ValueError):
    """Every problem found in a pipeline before it ran, reported at once."""

    def __init__(self, problems: Sequence[str], *, source: str | None = None) -> None:
        self.problems = tuple(problems)
        head = f"{source}: " if source else ""
        lines = "\n".join(f"  - {p}" for p in self.problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{head}pipeline has {len(self.problems)} {noun}:\n{lines}")


class StepError(PipelineError):
    """A step raised while running; names the step and the plugin. `step` is the step's position
    (0-based) in the pipeline when known; `message` the text as raised (kept apart from `args`, which
    a framework that carries the error back from a worker may append to)."""

    def __init__(self, message: str, *, step: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.step = step


class StateError(HookyardError, ValueError):
    """A persisted state document is corrupt, of a newer schema, or for another plugin."""


class NotFittedError(HookyardError, ValueError, AttributeError):
    """A fitted plugin was used before `fit`."""


class DataError(HookyardError, ValueError):
    """Input data that the plugin cannot use as given."""


def shorten(text: str, limit: int = 400) -> str:
    """`text` as it is, or when longer than `limit` its head and tail around a note of its full
    length, so that no message grows with the size of a value it quotes (a list of millions)."""
    if len(text) <= limit:
        return text
    head, tail = limit * 3 // 4, limit // 4
    return f"{text[:head]}... [{len(text):,} characters in all] ...{text[-tail:]}"
