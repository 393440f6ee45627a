"""Registry behaviour: discovery, names, aliases, conflicts, missing requirements, broken plugins."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable
from pathlib import Path

import pytest

import engine
from engine import registry as registry_module
from engine.registry import PluginLoadWarning, Registry
from plugins.sources.memory import MemorySource
from tests.plugin_sources import ENCODER, ENCODER_IMPL, registering


def declare_extras(root: Path, dist: str, *extras: str, version: str = "1.0") -> None:
    """Add Provides-Extra lines to an installed test distribution's METADATA, as pip writes them."""
    metadata = root / f"{dist.replace('-', '_')}-{version}.dist-info" / "METADATA"
    metadata.write_text(metadata.read_text() + "".join(f"Provides-Extra: {e}\n" for e in extras))


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
    pipeline = engine.Pipeline([engine.Step("source", "memory", options={"data": {"a": [1]}})])
    with pytest.raises(engine.PluginConflictError, match="acme-one.*acme-two") as caught:
        pipeline.validate()
    assert "step 1" not in str(caught.value), "a registry problem is reported as itself, not blamed on a step"


def test_missing_requirements_are_listed_with_the_install_command(site) -> None:
    module = registering("register_solvers", "solver", "quantum", "acme_q:Solver",
                         requires=("json", "acme_not_installed_anywhere"), extra="quantum")
    declare_extras(site("acme-quantum", {"acme_q": module}, {"q": "acme_q"}), "acme-quantum", "quantum")
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
        return without_contrib(i.distribution for i in Registry(environ=environ).plugins())

    assert loaded({}) == {"hookyard", "acme-one", "acme-two"}
    assert loaded({"HOOKYARD_LOAD_PLUGINS": ""}) == {"hookyard"}
    assert loaded({"HOOKYARD_LOAD_PLUGINS": "Acme_One"}) == {"hookyard", "acme-one"}
    assert loaded({"HOOKYARD_DISABLE_PLUGINS": "acme-two"}) == {"hookyard", "acme-one"}


def without_contrib(distributions: Iterable[str]) -> set[str]:
    """The distributions listed, less the repository's own plugin distributions (contrib/hookyard-*),
    which the test environment installs too."""
    return {d for d in distributions if not d.startswith("hookyard-")}


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


def test_plugin_load_warning_is_exported_from_engine() -> None:
    assert engine.PluginLoadWarning is PluginLoadWarning
    assert "PluginLoadWarning" in engine.__all__


def test_an_unknown_capability_is_an_error_naming_the_plugin(site, monkeypatch) -> None:
    with pytest.raises(ValueError, match=r"solver plugin 'fast' declares unknown capability 'count-limits'\. "
                                          r"Did you mean 'count_limits'\?.*count_limits, milp, partitions"):
        engine.Registration(kind="solver", name="fast", factory="m:F", capabilities={"count-limits"})
    module = registering("register_solvers", "solver", "fast", "acme_cap:F", capabilities=("milp", "mlip"))
    site("acme-cap", {"acme_cap": module}, {"cap": "acme_cap"})
    with pytest.warns(PluginLoadWarning, match=r"acme-cap.*solver plugin 'fast' declares unknown capability 'mlip'"):
        assert all(i.distribution != "acme-cap" for i in engine.plugins())
    registry_module.reset()
    monkeypatch.setenv("HOOKYARD_STRICT_PLUGINS", "1")
    with pytest.raises(engine.PluginLoadError, match="solver plugin 'fast' declares unknown capability 'mlip'"):
        engine.plugins()


def test_a_capability_given_as_one_string_is_one_capability() -> None:
    assert engine.Registration(kind="solver", name="s", factory="m:S", capabilities="milp").capabilities == {"milp"}


def test_every_capability_the_builtins_declare_is_known() -> None:
    from engine.records import CAPABILITIES

    declared = {(i.kind, c) for i in Registry(environ={}).plugins() for c in i.registration.capabilities}
    assert declared, "the built-ins declare capabilities"
    assert {(k, c) for k, c in declared if c not in CAPABILITIES[k]} == set()


def test_an_extra_the_distribution_does_not_declare_warns(site) -> None:
    module = registering("register_solvers", "solver", "quantum", "acme_q:Solver", requires=("json",), extra="quantm")
    root = site("acme-quantum", {"acme_q": module}, {"q": "acme_q"})
    declare_extras(root, "acme-quantum", "quantum")
    with pytest.warns(PluginLoadWarning, match=r"solver plugin 'quantum' of distribution 'acme-quantum' names the "
                                                r"extra 'quantm'.*it declares: quantum") as caught:
        engine.plugins()
    assert len(caught) == 1
    assert caught[0].filename == str(root / "acme_q.py")


def test_a_declared_extra_does_not_warn(site) -> None:
    module = registering("register_solvers", "solver", "quantum", "acme_q:Solver", requires=("json",), extra="Quantum")
    declare_extras(site("acme-quantum", {"acme_q": module}, {"q": "acme_q"}), "acme-quantum", "quantum")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert engine.plugin_info("solver", "quantum").status == "available"


def test_a_warning_is_given_once_per_registry_and_points_at_the_plugin(site) -> None:
    source = """
from engine import hookimpl

@hookimpl
def register_sinks():
    raise RuntimeError("the sink registry is down")
"""
    root = site("acme-raising", {"acme_raising": source}, {"r": "acme_raising"})

    class Observer:
        @engine.hookimpl
        def step_end(self, event):
            pass

    with pytest.warns(PluginLoadWarning) as caught:
        registry = registry_module.default_registry()
        registry.plugins()
        observer = Observer()
        registry.register(observer)
        registry.plugins()
        registry.unregister(observer)
        registry.plugins()
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith("skipped plugins of distribution 'acme-raising': its hook 'register_sinks' raised")
    assert (caught[0].filename, caught[0].lineno) == (str(root / "acme_raising.py"), 6)


def test_an_import_failure_points_at_the_plugins_line(site) -> None:
    root = site("acme-broken", {"acme_broken": "import json\nraise ImportError('no acme_dependency')\n"},
                {"broken": "acme_broken"})
    with pytest.warns(PluginLoadWarning) as caught:
        engine.plugins()
    assert (caught[0].filename, caught[0].lineno) == (str(root / "acme_broken.py"), 2)


def test_an_unknown_name_says_which_distribution_failed_to_load_and_why(site) -> None:
    site("acme-jsonl", {"acme_jsonl": "raise ImportError('No module named orjson')"}, {"jsonl": "acme_jsonl"})
    with pytest.warns(PluginLoadWarning):
        with pytest.raises(engine.UnknownPluginError) as caught:
            engine.source("acme-jsonl")
    message = str(caught.value)
    assert "no source plugin named 'acme-jsonl'" in message
    assert "failed to load" in message and "'acme-jsonl'" in message.split("failed to load")[1]
    assert "No module named orjson" in message


def test_a_misspelt_disable_name_warns_and_hookyard_disables_the_builtins(site) -> None:
    site("acme-one", {"acme_one": registering("register_solvers", "solver", "one", "acme_one:S")}, {"one": "acme_one"})
    with pytest.warns(PluginLoadWarning, match=r"HOOKYARD_DISABLE_PLUGINS names 'acme-oen', which is no installed "
                                                r"distribution.*Did you mean 'acme-one'\?"):
        registry = Registry(environ={"HOOKYARD_DISABLE_PLUGINS": "acme-oen"})
        listed = without_contrib(i.distribution for i in registry.plugins())
    assert listed == {"hookyard", "acme-one"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        only = without_contrib(i.distribution for i in Registry(environ={"HOOKYARD_DISABLE_PLUGINS": "hookyard"}).plugins())
    assert only == {"acme-one"}


def test_strict_mode_raises_a_conflict_once_as_a_registry_problem(site) -> None:
    site("acme-one", {"acme_one": registering("register_solvers", "solver", "fast", "acme_one:Fast")}, {"one": "acme_one"})
    site("acme-two", {"acme_two": registering("register_solvers", "solver", "fast", "acme_two:Fast")}, {"two": "acme_two"})
    registry = Registry(environ={"HOOKYARD_STRICT_PLUGINS": "1"})
    with pytest.raises(engine.PluginConflictError, match=r"^the installed plugins conflict \(HOOKYARD_STRICT_PLUGINS") as first:
        registry.check()
    with pytest.raises(engine.PluginConflictError) as again:
        registry.info("source", "memory")
    assert again.value is first.value


def test_factory_problems_finds_factories_that_do_not_import_or_name_nothing(site) -> None:
    hooks = """
from engine import Registration, hookimpl

@hookimpl
def register_solvers():
    return [
        Registration(kind="solver", name="gone", factory="acme_nowhere:Solver", summary="s"),
        Registration(kind="solver", name="typo", factory="acme_impl:Solvr", summary="s"),
        Registration(kind="solver", name="fine", factory="acme_impl:Solver", summary="s"),
    ]
"""
    site("acme-check", {"acme_check": hooks, "acme_impl": "class Solver:\n    pass\n"}, {"c": "acme_check"})
    problems = Registry(environ={}).factory_problems("solver")
    assert sorted(problems) == [("solver", "gone"), ("solver", "typo")]
    assert "ModuleNotFoundError" in problems[("solver", "gone")] and "acme_nowhere" in problems[("solver", "gone")]
    assert "AttributeError" in problems[("solver", "typo")] and "Solvr" in problems[("solver", "typo")]


def test_listing_finds_dotted_requirements_without_importing_their_packages(site) -> None:
    module = registering("register_solvers", "solver", "lazy", "acme_lazy_impl:S",
                         requires=("acme_heavy.sub", "acme_heavy.absent"))
    site("acme-lazy", {"acme_lazy": module, "acme_heavy.__init__": "raise RuntimeError('imported')",
                       "acme_heavy.sub": ""}, {"lazy": "acme_lazy"})
    info = engine.plugin_info("solver", "lazy")
    assert (info.status, info.missing) == ("missing", ("acme_heavy.absent",))
    assert "acme_heavy" not in sys.modules
