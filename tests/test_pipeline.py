"""Pipelines in code and in TOML: validation before running, events, failures named by step."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import engine
from engine.config import dumps_pipeline, load_pipeline, loads_pipeline
from tests.plugin_sources import ENCODER, ENCODER_IMPL, registering

DATA = {"n": [1, 2, 3, 4], "colour": ["red", "blue", "red", "green"]}


class Recorder:
    """An observer plugin that keeps every event it is sent."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    @engine.hookimpl
    def pipeline_start(self, event):
        self.events.append(("pipeline_start", event))

    @engine.hookimpl
    def pipeline_end(self, event):
        self.events.append(("pipeline_end", event))

    @engine.hookimpl
    def step_start(self, event):
        self.events.append(("step_start", event))

    @engine.hookimpl
    def step_end(self, event):
        self.events.append(("step_end", event))


@pytest.fixture
def acme(site):
    return site("acme-encoders", {"acme": ENCODER, "acme_impl": ENCODER_IMPL}, {"acme": "acme"})


def test_a_pipeline_in_code_runs_its_steps_in_order_and_emits_events(acme) -> None:
    pipeline = engine.Pipeline(
        [
            engine.Step("source", "memory", options={"data": DATA}),
            engine.Step("encoder", "acme-upper", options={"columns": ["colour"]}),
        ],
        name="demo",
    )
    recorder = Recorder()
    result = pipeline.run(observers=[recorder])
    assert result.table.column("colour").to_pylist() == ["RED", "BLUE", "RED", "GREEN"]
    names = [name for name, _ in recorder.events]
    # Steps stream together: every step starts, then every step ends, in pipeline order.
    assert names == ["pipeline_start", "step_start", "step_start", "step_end", "step_end", "pipeline_end"]
    starts = [e for name, e in recorder.events if name == "step_start"]
    assert [(e.index, e.step) for e in starts] == [(1, "source"), (2, "encoder")]
    ends = [e for name, e in recorder.events if name == "step_end"]
    assert [(e.index, e.step, e.kind, e.plugin, e.rows_in, e.rows_out, e.status) for e in ends] == [
        (1, "source", "source", "memory", None, 4, "ok"),
        (2, "encoder", "encoder", "acme-upper", 4, 4, "ok"),
    ]
    assert all(e.seconds >= 0 for e in ends)
    assert recorder.events[-1][1].status == "ok"
    assert result.plugins["encoder"] == {"kind": "encoder", "name": "acme-upper", "distribution": "acme-encoders", "version": "1.0"}
    assert engine.default_registry().plugin_manager.get_name(recorder) is None


def test_a_pipeline_accepts_input_data_and_built_plugins(acme) -> None:
    encoder = engine.encoder("acme-upper", columns=["colour"])
    result = engine.Pipeline([engine.Step("encoder", encoder)]).run(pa.table(DATA))
    assert result.table.column("colour").to_pylist()[0] == "RED"


def test_validation_reports_every_problem_at_once(acme) -> None:
    pipeline = engine.Pipeline(
        [
            engine.Step("encoder", "acme-upper", options={"sufix": "_x"}),
            engine.Step("solvr", "mckp"),
            engine.Step("source", "memroy", options={}),
            engine.Step("sink", "nowhere"),
        ]
    )
    with pytest.raises(engine.PipelineValidationError) as caught:
        pipeline.run()
    problems = caught.value.problems
    assert any("step 1 'encoder'" in p and "no option 'sufix'" in p for p in problems)
    assert any("step 1 'encoder'" in p and "needs table" in p and "nothing comes before it" in p for p in problems)
    assert any("unknown kind 'solvr'" in p and "Did you mean 'solver'" in p for p in problems)
    assert any("no source plugin named 'memroy'" in p for p in problems)
    assert any("step 3 'source'" in p and "must be the first step" in p for p in problems)
    assert any("no sink plugin named 'nowhere'" in p for p in problems)
    assert "pipeline has 6 problems" in str(caught.value)


def test_a_step_whose_input_is_not_provided_is_caught_before_running(site) -> None:
    site("acme-solver", {"acme_s": registering("register_solvers", "solver", "greedy-s", "acme_s:S")}, {"s": "acme_s"})
    pipeline = engine.Pipeline(
        [engine.Step("source", "memory", options={"data": DATA}),
         engine.Step("solver", "greedy-s", params={"costs": [1.0], "budget": 2.0})]
    )
    problems = pipeline.validate()
    assert any("needs effects from an earlier step" in p and "add a cate step before it" in p for p in problems)


def test_step_params_are_checked_against_the_kind_step_runner(acme) -> None:
    pipeline = engine.Pipeline([engine.Step("source", "memory", options={"data": DATA}, params={"limit": 3})])
    assert any("has no param 'limit'" in p for p in pipeline.validate())


def test_a_failing_step_is_named_and_observers_see_the_failure(site) -> None:
    module = registering("register_encoders", "encoder", "exploding", "acme_impl:Exploding")
    site("acme-boom", {"acme_boom": module, "acme_impl": ENCODER_IMPL}, {"boom": "acme_boom"})
    recorder = Recorder()
    pipeline = engine.Pipeline([engine.Step("source", "memory", options={"data": DATA}), engine.Step("encoder", "exploding")])
    with pytest.raises(engine.StepError, match=r"step 2 'encoder' \(encoder 'exploding'\) failed: .*cannot start at level 1"):
        pipeline.run(observers=[recorder])
    failed = [e for name, e in recorder.events if name == "step_end"][-1]
    assert failed.status == "failed" and "cannot start" in failed.error
    assert recorder.events[-1][1].status == "failed"


PIPELINE_TOML = """
[pipeline]
name = "upper"

[[steps]]
kind = "source"
name = "memory"
[steps.options]
data = {n = [1, 2, 3], colour = ["red", "blue", "red"]}

[[steps]]
id = "shout"
kind = "encoder"
name = "acme-upper"
options = {columns = ["colour"]}
"""


def test_a_toml_file_says_the_same_as_code(acme, tmp_path: Path) -> None:
    path = tmp_path / "upper.toml"
    path.write_text(PIPELINE_TOML)
    pipeline = load_pipeline(path)
    assert [(s.id, s.kind, s.name, s.options) for s in pipeline.steps] == [
        ("source", "source", "memory", {"data": {"n": [1, 2, 3], "colour": ["red", "blue", "red"]}}),
        ("shout", "encoder", "acme-upper", {"columns": ["colour"]}),
    ]
    again = loads_pipeline(dumps_pipeline(pipeline))
    assert [(s.id, s.kind, s.name, s.options, s.params) for s in again.steps] == [
        (s.id, s.kind, s.name, s.options, s.params) for s in pipeline.steps
    ]
    assert pipeline.run().table.column("colour").to_pylist() == ["RED", "BLUE", "RED"]


def test_overrides_change_names_options_and_params(acme) -> None:
    pipeline = loads_pipeline(PIPELINE_TOML, ["shout.suffix=_up", "source.options.columns=[\"colour\"]",
                                              "shout.name=SHOUT", "pipeline.name=renamed"])
    assert pipeline.name == "renamed"
    assert pipeline.step("shout").options == {"columns": ["colour"], "suffix": "_up"}
    assert pipeline.step("shout").name == "SHOUT"
    assert pipeline.run().table.column_names == ["colour_up"]
    with pytest.raises(engine.ConfigError, match="'solver' matches no step"):
        loads_pipeline(PIPELINE_TOML, ["solver.name=pulp"])
    with pytest.raises(engine.ConfigError, match="expected STEP.FIELD=VALUE"):
        loads_pipeline(PIPELINE_TOML, ["solver"])


def test_malformed_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[pipeline]\nname = "x"\n\n[[steps]]\nkind = "source\n')
    with pytest.raises(engine.ConfigError, match=r"bad.toml:5: malformed TOML"):
        load_pipeline(path)


def test_semantic_problems_in_a_file_name_the_line_of_the_step(acme, tmp_path: Path) -> None:
    path = tmp_path / "wrong.toml"
    path.write_text(PIPELINE_TOML.replace('kind = "encoder"', 'kind = "encodr"').replace('name = "memory"', 'name = "memory"\ncolour = 1'))
    with pytest.raises(engine.PipelineValidationError) as caught:
        load_pipeline(path)
    assert any("wrong.toml:5: step 1: unknown key 'colour'" in p for p in caught.value.problems)
    path.write_text(PIPELINE_TOML.replace('kind = "encoder"', 'kind = "encodr"'))
    pipeline = load_pipeline(path)
    problems = pipeline.validate()
    assert any(p.startswith(f"{path}:11: step 2 'shout'") and "unknown kind 'encodr'" in p for p in problems)


def test_a_file_without_steps_or_with_unknown_sections_is_rejected() -> None:
    with pytest.raises(engine.PipelineValidationError) as caught:
        loads_pipeline('[pipline]\nname = "x"\n')
    assert any("unknown top-level key 'pipline'" in p and "Did you mean 'pipeline'" in p for p in caught.value.problems)
    assert any("no steps" in p for p in caught.value.problems)
