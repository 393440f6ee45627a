"""What every plugin of every kind must do: be registered, usable, typed and strict about options.

Every suite builds its plugin from the class attribute `options`, or from the `plugin_options`
fixture where a test class overrides it (to make a file in a temporary folder, say). A test of a
capability the registration does not declare is skipped with the reason. A failed check says
which rule of the contract it enforces, what was expected and what the plugin did.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

import engine
from engine.kinds import KINDS
from engine.options import accepts_any_option
from engine.records import CAPABILITIES
from engine.registry import default_registry


def broke(rule: str, expected: Any, got: Any) -> str:
    """The message of a failed contract check: the rule, what it expects and what the plugin did."""
    return f"contract rule: {rule}\n  expected: {expected}\n  got:      {got}"


@contextlib.contextmanager
def refuses(rule: str, error: type[BaseException], match: str) -> Iterator[None]:
    """Expect the block to raise `error` with a message matching `match`; fail saying `rule` when it
    raises nothing, something else, or another message."""
    expected = f"{error.__name__} matching {match!r}"
    try:
        yield
    except error as exc:
        if not re.search(match, str(exc)):
            pytest.fail(broke(rule, expected, f"{type(exc).__name__}: {exc}"))
    except Exception as exc:
        pytest.fail(broke(rule, expected, f"{type(exc).__name__}: {exc}"))
    else:
        pytest.fail(broke(rule, expected, "no error"))


class PluginContract:
    """Base suite: subclass through a kind's suite and set `name` (and `options` to build it)."""

    kind: ClassVar[str]
    name: ClassVar[str]
    options: ClassVar[dict[str, Any]] = {}

    @pytest.fixture(scope="class")
    @classmethod
    def plugin_options(cls) -> dict[str, Any]:
        """The options the suite builds the plugin with: the class's `options` unless overridden.

        Override it in a test class (as a class-scoped classmethod fixture, taking folders from
        `tmp_path_factory`) to make them at run time. What it returns is laid over `options`.
        """
        return dict(cls.options)

    @pytest.fixture(autouse=True)
    def _apply_plugin_options(self, plugin_options: dict[str, Any]) -> None:
        self.options = {**self.options, **plugin_options}

    def build(self, **overrides: Any) -> Any:
        """A fresh instance with the suite's options (and any overrides)."""
        return engine.get(self.kind, self.name, **{**self.options, **overrides})

    @pytest.fixture
    def plugin(self) -> Any:
        return self.build()

    def capable(self, capability: str) -> bool:
        """Whether the registration declares `capability`."""
        return capability in engine.plugin_info(self.kind, self.name).registration.capabilities

    def require(self, capability: str) -> None:
        """Skip the calling test, with the reason, unless the registration declares `capability`."""
        if not self.capable(capability):
            promise = CAPABILITIES.get(self.kind, {}).get(capability, "")
            pytest.skip(f"{self.kind} '{self.name}' does not declare the {capability!r} capability, so this "
                        f"test of its promise is skipped{': ' + promise if promise else ''}")

    def test_registered_and_available(self) -> None:
        info = engine.plugin_info(self.kind, self.name)
        assert info.kind == self.kind, broke("the plugin is registered under its kind", self.kind, info.kind)
        assert info.status == "available", broke(
            "the plugin's requirements are installed", "status 'available'",
            f"status {info.status!r} (install with: {info.install_hint})")

    def test_summary_is_one_line(self) -> None:
        summary = engine.plugin_info(self.kind, self.name).registration.summary
        rule = "the registration has a one-line summary (what `hookyard plugins` shows)"
        assert summary.strip(), broke(rule, "a non-empty summary", repr(summary))
        assert "\n" not in summary, broke(rule, "one line", repr(summary))

    def test_satisfies_the_kind_protocol(self, plugin: Any) -> None:
        protocol = KINDS[self.kind].protocol
        members = sorted(m for m in vars(protocol) if not m.startswith("_") and callable(getattr(protocol, m)))
        assert isinstance(plugin, protocol), broke(
            f"a {self.kind} has the methods of engine.kinds.{self.kind}.{protocol.__name__}",
            ", ".join(members), f"a {type(plugin).__name__} lacking {[m for m in members if not hasattr(plugin, m)]}")

    def test_undeclared_option_is_rejected(self) -> None:
        factory = default_registry().factory(self.kind, self.name)
        if accepts_any_option(factory):
            pytest.skip("the factory takes **kwargs, so the engine cannot judge option names")
        with refuses("an option the factory does not declare is refused before the plugin is built",
                     engine.OptionError, match="no option 'no_such_option'"):
            self.build(no_such_option=1)
