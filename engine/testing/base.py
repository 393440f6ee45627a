"""What every plugin of every kind must do: be registered, usable, typed and strict about options."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

import engine
from engine.kinds import KINDS
from engine.options import accepts_any_option
from engine.registry import default_registry


class PluginContract:
    """Base suite: subclass through a kind's suite and set `name` (and `options` to build it)."""

    kind: ClassVar[str]
    name: ClassVar[str]
    options: ClassVar[dict[str, Any]] = {}

    def build(self, **overrides: Any) -> Any:
        """A fresh instance with the suite's options (and any overrides)."""
        return engine.get(self.kind, self.name, **{**self.options, **overrides})

    @pytest.fixture
    def plugin(self) -> Any:
        return self.build()

    def test_registered_and_available(self) -> None:
        info = engine.plugin_info(self.kind, self.name)
        assert info.kind == self.kind
        assert info.status == "available", f"{self.kind} '{self.name}' is {info.status}: {info.install_hint}"

    def test_summary_is_one_line(self) -> None:
        summary = engine.plugin_info(self.kind, self.name).registration.summary
        assert summary.strip(), "give the registration a one-line summary"
        assert "\n" not in summary

    def test_satisfies_the_kind_protocol(self, plugin: Any) -> None:
        assert isinstance(plugin, KINDS[self.kind].protocol)

    def test_undeclared_option_is_rejected(self) -> None:
        factory = default_registry().factory(self.kind, self.name)
        if accepts_any_option(factory):
            pytest.skip("the factory takes **kwargs, so the engine cannot judge option names")
        with pytest.raises(engine.OptionError, match="no option 'no_such_option'"):
            self.build(no_such_option=1)
