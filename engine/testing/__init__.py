"""Contract suites that plugin authors run against their own plugins with pytest.

Subclass the suite of your plugin's kind in a test module, name the plugin, and pytest runs
every contract test against it::

    from engine.testing import EncoderContract

    class TestMyEncoder(EncoderContract):
        name = "my-encoder"
        options = {"columns": ["colour"]}

Options made at run time come from overriding the `plugin_options` fixture. A failed check names
the contract rule it enforces; a capability the registration does not declare is skipped with
that reason. `hookyard new-plugin` writes a project whose test module does all this.
"""

from engine.testing.base import PluginContract
from engine.testing.cate import CATEContract
from engine.testing.decoder import DecoderContract
from engine.testing.encoder import EncoderContract
from engine.testing.executor import ExecutorContract
from engine.testing.sink import SinkContract
from engine.testing.solver import SolverContract
from engine.testing.source import SourceContract

__all__ = [
    "CATEContract", "DecoderContract", "EncoderContract", "ExecutorContract", "PluginContract", "SinkContract",
    "SolverContract", "SourceContract",
]
