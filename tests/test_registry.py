"""Registry behaviour: discovery, names, aliases, conflicts, missing requirements, broken plugins."""

from __future__ import annotations

import sys

import pytest

import engine
from engine import registry as registry_module
from engine.registry import PluginLoadWarning, Registry
from plugins.sources.memory import MemorySource
from tests.plugin_sources import ENCODER, ENCODER_IMPL, registering


def test_builtins_are_registered_through_the_entry_point_group() -> None:
    infos = {(i.kind, i.name): i for i in Registry(environ={}).plugins()}
    memory = infos[("source", "memory")]
    assert memory.distribution == "hookyard"
    assert memory.version == engine.__version__
    assert memory.status == "available"


def test_third_party_distribution_is_listed_and_selectable_by_name(site) -> None:
    site("acme-encoders", {"acme": ENCODER, "acme_impl": ENCODER_IMPL}, {"acme": "acme"}, version="2.3")
    info = engine.plugin_info("encoder", "acme-upper")
    assert (info.distribution, info.version, info.status) == ("acme-encoders", "2.3", "available")
    import pyarrow as pa

    encoder = engine.encoder("acme-upper", columns=["c"])
    assert encoder.fit_transform(pa.table({"c": ["a", "b"]})).column("c").to_pylist() == ["A", "B"]


def test_names_are_normalised_and_aliases_resolve(site) -> None:
    site("acme-encoders", {"acme": ENCODER, "acme_impl": ENCODER_IMPL}, {"acme": "acme"})
    assert engine.plugin_info("encoder", "  ACME_upper ").name == "acme-upper"
    assert engine.plugin_info("encoder", "Shout").name == "acme-upper"
    assert engine.plugin_info(" Source", "IN_MEMORY").name == "memory"


def test_unknown_name_lists_the_available_names_and_the_closest() -> None:
    with pytest.raises(engine.UnknownPluginError) as caught:
        engine.get("source", "memroy")
    message = str(caught.value)
    assert "Did you mean 'memory'?" in message
    assert "Available source plugins: " in message and "memory" in message.split("Available source plugins: ")[1]
    assert "memory" in caught.value.available


def test_unknown_kind_names_the_kinds() -> None:
    with pytest.raises(engine.UnknownKindError, match="Did you mean 'solver'.*Kinds are: encoder, decoder"):
        engine.get("solvr", "mckp")


def test_a_name_claimed_by_two_distributions_is_an_error_naming_both(site) -> None:
    site("acme-one", {"acme_one": registering("register_solvers", "solver", "fast", "acme_one:Fast")}, {"one": "acme_one"})
    site("acme-two", {"acme_two": registering("register_solvers", "solver", "FAST", "acme_two:Fast")}, {"two": "acme_two"})
    with pytest.warns(PluginLoadWarning, match="solver name 'fast' is claimed by"):
        listed = {i.distribution: i for i in engine.plugins("solver")}
    assert listed["acme-one"].status == listed["acme-two"].status == "conflict"
    assert listed["acme-one"].conflict == ("acme-two",)
    with pytest.raises(engine.PluginConflictError) as caught:
        engine.get("solver", "fast")
    assert "'acme-one'" in str(caught.value) and "'acme-two'" in str(caught.value) and "'fast'" in str(caught.value)


def test_an_alias_clashing_with_another_distributions_name_is_a_conflict(site) -> None:
    site("acme-one", {"acme_one": registering("register_sinks", "sink", "disk", "acme_one:Disk", aliases=("store",))},
         {"one": "acme_one"})
    site("acme-two", {"acme_two": registering("register_sinks", "sink", "store", "acme_two:Store")}, {"two": "acme_two"})
    with pytest.warns(PluginLoadWarning):
        engine.plugins()
    with pytest.raises(engine.PluginConflictError, match="'store'"):
        engine.plugin_info("sink", "store")


def test_strict_mode_makes_a_conflict_an_error_at_discovery(site, monkeypatch) -> None:
    site("acme-one", {"acme_one": registering("register_solvers", "solver", "fast", "acme_one:Fast")}, {"one": "acme_one"})
    site("acme-two", {"acme_two": registering("register_solvers", "solver", "fast", "acme_two:Fast")}, {"two": "acme_two"})
    monkeypatch.setenv("HOOKYARD_STRICT_PLUGINS", "1")
    with pytest.raises(engine.PluginConflictError, match="acme-one.*acme-two"):
        engine.plugins()


def test_missing_requirements_are_listed_with_the_install_command(site) -> None:
    module = registering("register_solvers", "solver", "quantum", "acme_q:Solver",
                         requires=("json", "acme_not_installed_anywhere"), extra="quantum")
    site("acme-quantum", {"acme_q": module}, {"q": "acme_q"})
    info = engine.plugin_info("solver", "quantum")
    assert info.status == "missing"
    assert info.missing == ("acme_not_installed_anywhere",)
    assert info.to_dict()["install"] == "pip install 'acme-quantum[quantum]'"
    with pytest.raises(engine.PluginMissingError, match=r"needs acme_not_installed_anywhere.*pip install 'acme-quantum\[quantum\]'"):
        engine.get("solver", "quantum")


def test_a_distribution_that_fails_to_import_is_skipped_with_one_warning(site) -> None:
    site("acme-broken", {"acme_broken": "raise ImportError('no module named acme_dependency')"}, {"broken": "acme_broken"})
    with pytest.warns(PluginLoadWarning) as caught:
        infos = engine.plugins()
    assert len(caught) == 1
    assert "acme-broken" in str(caught[0].message) and "acme_dependency" in str(caught[0].message)
    assert any(i.name == "memory" for i in infos)


def test_strict_mode_makes_an_import_failure_an_error(site, monkeypatch) -> None:
    site("acme-broken", {"acme_broken": "raise ImportError('boom')"}, {"broken": "acme_broken"})
    monkeypatch.setenv("HOOKYARD_STRICT_PLUGINS", "1")
    with pytest.raises(engine.PluginLoadError, match="acme-broken.*boom"):
        engine.plugins()


def test_a_misspelt_hook_is_reported_naming_the_plugin_and_the_hook(site, monkeypatch) -> None:
    site("acme-typo", {"acme_typo": registering("register_encoderz", "encoder", "x", "acme_typo:X")}, {"typo": "acme_typo"})
    with pytest.warns(PluginLoadWarning, match=r"acme-typo.*register_encoderz"):
        assert all(i.distribution != "acme-typo" for i in engine.plugins())
    registry_module.reset()
    monkeypatch.setenv("HOOKYARD_STRICT_PLUGINS", "1")
    with pytest.raises(engine.PluginLoadError, match=r"'acme-typo:typo'.*register_encoderz"):
        engine.plugins()


def test_a_hook_with_an_argument_the_spec_lacks_fails_validation(site) -> None:
    source = '''
from engine import hookimpl

@hookimpl
def register_solvers(config):
    return []
'''
    site("acme-args", {"acme_args": source}, {"args": "acme_args"})
    with pytest.warns(PluginLoadWarning, match=r"acme-args.*register_solvers.*config"):
        engine.plugins()


def test_a_hook_returning_a_record_of_another_kind_is_skipped(site) -> None:
    site("acme-wrong", {"acme_wrong": registering("register_solvers", "encoder", "x", "acme_wrong:X")}, {"w": "acme_wrong"})
    with pytest.warns(PluginLoadWarning, match="acme-wrong.*'encoder' record"):
        assert not [i for i in engine.plugins() if i.distribution == "acme-wrong"]


def test_load_and_disable_variables_choose_distributions(site, monkeypatch) -> None:
    site("acme-one", {"acme_one": registering("register_solvers", "solver", "one", "acme_one:S")}, {"one": "acme_one"})
    site("acme-two", {"acme_two": registering("register_solvers", "solver", "two", "acme_two:S")}, {"two": "acme_two"})

    def loaded(environ: dict[str, str]) -> set[str]:
        return {i.distribution for i in Registry(environ=environ).plugins()}

    assert loaded({}) == {"hookyard", "acme-one", "acme-two"}
    assert loaded({"HOOKYARD_LOAD_PLUGINS": ""}) == {"hookyard"}
    assert loaded({"HOOKYARD_LOAD_PLUGINS": "Acme_One"}) == {"hookyard", "acme-one"}
    assert loaded({"HOOKYARD_DISABLE_PLUGINS": "acme-two"}) == {"hookyard", "acme-one"}


def test_entry_points_are_scanned_once_and_factories_imported_on_first_use(site, monkeypatch) -> None:
    site("acme-encoders", {"acme": ENCODER, "acme_impl": ENCODER_IMPL}, {"acme": "acme"})
    scans = []
    real = registry_module.entry_points
    monkeypatch.setattr(registry_module, "entry_points", lambda group: scans.append(group) or real(group))
    registry = Registry(environ={})
    registry.plugins()
    registry.plugins("encoder")
    registry.names("encoder")
    assert len(scans) == 1
    assert "acme_impl" not in sys.modules
    registry.factory("encoder", "acme-upper")
    assert "acme_impl" in sys.modules


def test_options_are_checked_against_the_factory_signature(site) -> None:
    site("acme-encoders", {"acme": ENCODER, "acme_impl": ENCODER_IMPL}, {"acme": "acme"})
    with pytest.raises(engine.OptionError, match="has no option 'sufix'. Did you mean 'suffix'"):
        engine.encoder("acme-upper", sufix="_x")
    with pytest.raises(engine.OptionError, match="option 'suffix' must be str, got int"):
        engine.encoder("acme-upper", suffix=3)
    with pytest.raises(engine.OptionError, match="'columns' must be a list of str or None"):
        engine.encoder("acme-upper", columns="c")


def test_a_plugin_that_raises_while_built_is_named_in_the_error(site) -> None:
    module = registering("register_encoders", "encoder", "exploding", "acme_impl:Exploding")
    site("acme-boom", {"acme_boom": module, "acme_impl": ENCODER_IMPL}, {"boom": "acme_boom"})
    with pytest.raises(engine.PluginBuildError, match=r"encoder plugin 'exploding' \(from distribution 'acme-boom'\).*cannot start at level 3"):
        engine.encoder("exploding", level=3)


def test_a_built_object_is_accepted_where_a_name_is() -> None:
    built = MemorySource({"a": [1]})
    assert engine.source(built) is built
    with pytest.raises(engine.OptionError, match="already built"):
        engine.source(built, columns=["a"])
    with pytest.raises(engine.OptionError, match="object is not a source: it lacks count, .*scan, schema, to_arrow"):
        engine.source(object())


def test_plugins_registered_in_process_are_validated_and_listed() -> None:
    class Local:
        @engine.hookimpl
        def register_sinks(self):
            return [engine.Registration(kind="sink", name="local-sink", factory="x:Y", summary="s")]

    local = Local()
    registry = Registry(environ={})
    registry.register(local)
    assert registry.info("sink", "local-sink").distribution == "__main__"
    registry.unregister(local)
    with pytest.raises(engine.UnknownPluginError):
        registry.info("sink", "local-sink")
