"""Pipelines as streams: batch by batch the same rows and figures as one in-memory table, fitting on a
sample, a solver's two passes (replayed or spooled), steps after a sink, and the run's kept rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import engine
from engine.errors import DataError, StepError
from engine.pipeline import Pipeline, Step
from engine.sampling import Reservoir
from engine.spool import MARKER

DML = {"model_y": "linear", "model_t": "linear", "featurizer": "linear", "cv": 2, "random_state": 0}
TRUTH = {"true_effects": ["tau_T1", "tau_T2", "tau_T3"]}


def uplift(tmp_path: Path, *, n: int = 200, batch_size: int = 65_536, budget: float = 60.0, sense: str = "==",
           **settings) -> Pipeline:
    """The main job's shape on small data: synthetic -> onehot -> dml -> mckp -> parquet."""
    return Pipeline([
        Step("source", "synthetic", options={"n": n, "categorical": True, "seed": 5}),
        Step("encoder", "onehot", options={"columns": ["region", "channel"]}),
        Step("cate", "dml", options=DML, params=TRUTH),
        Step("solver", "mckp", params={"budget": budget, "costs": [0.1, 0.2, 0.3], "budget_sense": sense}),
        Step("sink", "parquet", options={"path": str(tmp_path / "out.parquet")}),
    ], name="uplift", executor=local(batch_size, spool=str(tmp_path)), **settings)


def local(batch_size: int, **options) -> dict:
    """The `local` executor with `batch_size` rows per batch."""
    return {"name": "local", "options": {"batch_size": batch_size, **options}}


@pytest.fixture(scope="module")
def in_memory(tmp_path_factory: pytest.TempPathFactory):
    return uplift(tmp_path_factory.mktemp("whole")).run()


@pytest.mark.parametrize("batch_size", [1, 7, 64, 599])
def test_any_batch_size_gives_the_rows_and_figures_of_one_table(in_memory, tmp_path: Path, batch_size: int) -> None:
    streamed = uplift(tmp_path, batch_size=batch_size).run()
    assert streamed.table.num_rows == in_memory.table.num_rows == 600
    for column in ("cate_T1", "cate_T2", "cate_T3"):
        np.testing.assert_allclose(streamed.table.column(column).to_numpy(), in_memory.table.column(column).to_numpy(),
                                   rtol=1e-12, atol=1e-12)
    assert streamed.table.column("assignment").to_pylist() == in_memory.table.column("assignment").to_pylist()
    assert streamed.flow.facts["solver"] == in_memory.flow.facts["solver"] | {
        k: streamed.flow.facts["solver"][k] for k in ("build_seconds", "solve_seconds")}
    written = pq.read_table(tmp_path / "out.parquet")
    assert written.column("assignment").to_pylist() == in_memory.table.column("assignment").to_pylist()
    assert [(s.step, s.rows_out) for s in streamed.steps] == [
        ("source", 600), ("encoder", 600), ("cate", 600), ("solver", 600), ("sink", 600)]
    assert all(s.seconds >= 0 for s in streamed.steps)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("hookyard-spool-")], "the spool is removed"


def test_a_run_keeps_a_seeded_sample_of_its_rows_when_told_to(in_memory, tmp_path: Path) -> None:
    first = uplift(tmp_path, batch_size=50).run(collect=100)
    again = uplift(tmp_path, batch_size=50).run(collect=100)
    assert first.table.num_rows == 100
    assert first.flow.facts["sample"] == {"rows": 600, "kept": 100, "seed": 0}
    assert first.table.equals(again.table)
    rows = {tuple(r.values()) for r in in_memory.table.select(["x0", "x1"]).to_pylist()}
    assert {tuple(r.values()) for r in first.table.select(["x0", "x1"]).to_pylist()} <= rows
    assert pq.read_table(tmp_path / "out.parquet").num_rows == 600, "the sink still writes every row"
    assert "sample" not in uplift(tmp_path).run(collect=600).flow.facts


def test_the_reservoir_is_uniform_and_keeps_the_order_rows_came_in() -> None:
    hits = np.zeros(1000)
    for seed in range(300):
        reservoir = Reservoir(50, seed)
        for start in range(0, 1000, 37):
            reservoir.add(pa.table({"i": np.arange(start, min(start + 37, 1000))}))
        kept = reservoir.table().column("i").to_numpy()
        assert kept.size == 50 and (np.diff(kept) > 0).all()
        hits[kept] += 1
    # Each row is kept with probability 0.05: 15 times in 300 samples, give or take.
    assert abs(hits.mean() - 15) < 1e-9 and hits.std() < 6 and hits[:500].sum() / hits.sum() == pytest.approx(0.5, abs=0.05)


def test_fit_sample_fits_on_a_seeded_sample_of_the_source(tmp_path: Path) -> None:
    pipeline = uplift(tmp_path, n=400, budget=80.0, fit_sample=300, seed=3)
    fitted = pipeline.fit()
    assert fitted.training_rows == 300
    again = uplift(tmp_path, n=400, budget=80.0, fit_sample=300, seed=3).fit()
    assert fitted.training.equals(again.training)
    other = uplift(tmp_path, n=400, budget=80.0, fit_sample=300, seed=4).fit()
    assert not fitted.training.equals(other.training)
    result = uplift(tmp_path, n=400, budget=80.0, fit_sample=0.25, seed=3).run()
    assert result.table.num_rows == 1200, "it fits on the sample and scores every row"
    assert result.flow.facts["solver"]["status"] in ("optimal", "feasible")


def test_fit_sample_is_pushed_down_to_duckdb_and_repeatable(tmp_path: Path) -> None:
    base = tmp_path / "base.parquet"
    engine.Pipeline([Step("source", "synthetic", options={"n": 2000, "categorical": True, "seed": 1}),
                     Step("sink", "parquet", options={"path": str(base)})]).run()
    source = engine.source("duckdb", path=str(base))
    first, second = source.sample(500, 9), source.sample(500, 9)
    assert first.num_rows == 500 and first.equals(second)
    assert not first.equals(source.sample(500, 10))
    share = source.sample(0.1, 9)
    assert 400 < share.num_rows < 800
    whole = pq.read_table(base)
    assert set(first.column("x0").to_pylist()) <= set(whole.column("x0").to_pylist())


def test_an_encoder_can_count_levels_over_the_whole_stream(tmp_path: Path) -> None:
    data = {"colour": ["red"] * 999 + ["violet"], "x": list(range(1000))}
    steps = [Step("source", "memory", options={"data": data}),
             Step("encoder", "onehot", options={"columns": ["colour"]}, params={"fit": "stream"})]
    streamed = Pipeline(steps, fit_sample=10, executor=local(100)).run()
    assert "colour_violet" in streamed.table.column_names
    assert streamed.table.column("colour_violet").to_pylist()[-1] == 1.0
    steps[1] = Step("encoder", "onehot", options={"columns": ["colour"]})
    sampled = Pipeline(steps, fit_sample=10, executor=local(100)).run()
    assert "colour_violet" not in sampled.table.column_names
    assert sampled.flow.facts["drift"].column("colour").unseen[0].level == "violet"


class OnceSource:
    """A source that can be scanned only once (a queue, a socket): it says so with `rescannable`."""

    rescannable = False

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.scans = 0

    def schema(self):
        return self.table.schema

    def count(self):
        return self.table.num_rows

    def scan(self, batch_size=None):
        self.scans += 1
        if self.scans > 1:
            raise RuntimeError("scanned twice")
        return pa.RecordBatchReader.from_batches(self.table.schema, self.table.to_batches(max_chunksize=batch_size))

    def to_arrow(self):
        return self.table

    to_pandas = to_polars = to_numpy = to_arrow

    def explain(self):
        return "once"


class ShiftingSource(OnceSource):
    """A source that returns one row fewer each time it is scanned: a solver must notice."""

    rescannable = True

    def scan(self, batch_size=None):
        self.scans += 1
        table = self.table.slice(0, self.table.num_rows - self.scans + 1)
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=batch_size))


def scored(tmp_path: Path) -> pa.Table:
    table = uplift(tmp_path, n=100).run().table
    return table.select(["cate_T1", "cate_T2", "cate_T3"]).rename_columns(["e1", "e2", "e3"])


def assign_steps(source) -> list[Step]:
    return [Step("source", source), Step("cate", FixedEffects(), params={"fit": False, "features": ["e1", "e2", "e3"]}),
            Step("solver", "mckp", params={"budget": 20.0, "costs": [0.1, 0.2, 0.3]})]


class FixedEffects:
    """A fitted cate plugin whose effects are the table's e1..e3 columns."""

    treatment_names_ = ["T1", "T2", "T3"]

    def fit(self, Y, T, X, *, W=None):
        return self

    def effect(self, X):
        return X


def test_a_stream_that_cannot_be_read_twice_is_spooled_for_the_solver(tmp_path: Path) -> None:
    table = scored(tmp_path)
    once = OnceSource(table)
    streamed = Pipeline(assign_steps(once), executor=local(16, spool=str(tmp_path))).run()
    replayed = Pipeline(assign_steps(engine.source("memory", data=table)), executor=local(16)).run()
    assert once.scans == 1
    assert streamed.table.column("assignment").equals(replayed.table.column("assignment"))
    assert not [p for p in tmp_path.iterdir() if (p / MARKER).exists()]


def test_a_source_that_changes_between_scans_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="same rows in the same order each time it is scanned"):
        Pipeline(assign_steps(ShiftingSource(scored(tmp_path))), executor=local(16)).run()


def test_steps_after_a_sink_get_the_rows_it_wrote(tmp_path: Path) -> None:
    data = {"colour": ["red", "blue"] * 50}
    encoder = engine.encoder("onehot").fit(pa.table(data))
    steps = [Step("source", "memory", options={"data": data}),
             Step("sink", "csv", id="raw", options={"path": str(tmp_path / "raw.csv")}),
             Step("encoder", encoder, params={"fit": False}),
             Step("sink", "parquet", options={"path": str(tmp_path / "encoded.parquet")})]
    result = Pipeline(steps, executor=local(8)).run()
    assert result.table.column_names == ["colour_blue", "colour_red"]
    assert pq.read_table(tmp_path / "encoded.parquet").num_rows == 100
    assert (tmp_path / "raw.csv").read_text().count("\n") == 101
    assert [(s.step, s.rows_in, s.rows_out) for s in result.steps] == [
        ("source", None, 100), ("raw", 100, 100), ("encoder", 100, 100), ("sink", 100, 100)]


def test_a_solver_whose_next_steps_name_their_columns_spools_only_those(tmp_path: Path) -> None:
    table = scored(tmp_path).append_column("id", pa.array(range(300)))
    once = OnceSource(table)
    steps = [*assign_steps(once), Step("sink", "parquet", options={"path": str(tmp_path / "plan.parquet"),
                                                                  "columns": ["id", "assignment"]})]
    result = Pipeline(steps, executor=local(32, spool=str(tmp_path))).run(collect=0)
    assert once.scans == 1 and result.table.num_rows == 0
    written = pq.read_table(tmp_path / "plan.parquet")
    assert written.column_names == ["id", "assignment"] and written.column("id").to_pylist() == list(range(300))


def test_a_step_that_fits_after_a_sink_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    steps = [Step("source", "memory", options={"data": {"colour": ["red", "blue"]}}),
             Step("sink", "csv", options={"path": str(tmp_path / "raw.csv")}),
             Step("encoder", "onehot")]
    with pytest.raises(engine.ConfigError, match="comes before a step that fits"):
        Pipeline(steps).run()
    assert not (tmp_path / "raw.csv").exists()


def test_a_failure_midway_names_the_step_writes_nothing_and_leaves_no_spool(tmp_path: Path) -> None:
    pipeline = uplift(tmp_path, batch_size=50)
    pipeline.step("solver").params["costs"] = [0.1, 0.2]
    with pytest.raises(StepError, match=r"step 4 'solver' \(solver 'mckp'\) failed: DataError: costs has 2 entries"):
        pipeline.run()
    assert not (tmp_path / "out.parquet").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("hookyard-spool-")]


def test_a_sink_column_the_stream_lacks_is_named(tmp_path: Path) -> None:
    steps = [Step("source", "memory", options={"data": {"a": [1, 2]}}),
             Step("sink", "parquet", options={"path": str(tmp_path / "x.parquet"), "columns": ["a", "b"]})]
    with pytest.raises(StepError, match=r"columns \['b'\] are not in the data"):
        Pipeline(steps).run()
    assert not (tmp_path / "x.parquet").exists()


def test_pipeline_settings_are_validated(tmp_path: Path) -> None:
    problems = uplift(tmp_path, batch_size="big", fit_sample=1.5, seed=-1).validate()
    assert any(p.startswith("[pipeline] executor") and "batch_size" in p for p in problems), problems
    assert any("fit_sample must be a row count" in p for p in problems)
    assert any("seed must be a whole number" in p for p in problems)
    with pytest.raises(engine.OptionError, match="batch_size must be a whole number of rows of at least 1"):
        uplift(tmp_path, batch_size=0).run()
    with pytest.raises(DataError, match="a solver step needs effect columns"):
        engine.kinds.solver.run_step(engine.solver("mckp"), engine.flow.Flow(table=pa.table({"a": [1]})), budget=1)


def test_a_sampled_run_reports_which_figures_come_from_the_sample(tmp_path: Path) -> None:
    from engine.report import build_report

    pipeline = uplift(tmp_path, n=300, budget=90.0, sense="<=")
    whole = build_report(pipeline.run(), pipeline).figures
    run = pipeline.run(collect=450)
    sampled = build_report(run, pipeline).figures
    assert "sampled" not in whole
    overlap = whole["overlap"]
    assert list(overlap) == ["T1", "T2", "T3"] and len(overlap["T1"]["bin_edges"]) == len(overlap["T1"]["treated"]) + 1
    assert 0 <= overlap["T2"]["clipped_share"] <= 1 and sampled["overlap"] == overlap, "fitted once, not sampled"
    note = sampled["sampled"]
    assert (note["rows"], note["kept"], note["share"]) == (900, 450, 0.5)
    assert note["sections"] == ["cate", "headline", "frontier", "oracle", "policy_value", "qini", "calibration"]
    assert "seeded sample of 450 of the run's 900 rows" in note["note"]
    assert sampled["solver"] == whole["solver"] | {k: sampled["solver"][k] for k in ("build_seconds", "solve_seconds")
                                                   if k in sampled["solver"]}, "the solver's figures cover every row"
    headline = sampled["headline"]
    assert headline["rows"] == 900 and headline["budget"] == 45.0
    plan = run.table.column("assignment").to_numpy()
    assert headline["optimised"]["cost"] == pytest.approx(np.array([0.1, 0.2, 0.3])[plan[plan >= 0]].sum())
    assert abs(headline["lift_estimated_pct"] - whole["headline"]["lift_estimated_pct"]) < 25


def test_a_run_whose_solver_finds_no_plan_fails_and_writes_nothing_unless_told(tmp_path: Path) -> None:
    with pytest.raises(StepError, match=r"found no plan \(infeasible: .*\); nothing is written"):
        uplift(tmp_path, budget=1e6).run()
    assert not (tmp_path / "out.parquet").exists()
    pipeline = uplift(tmp_path, budget=1e6)
    pipeline.step("solver").params["allow_no_plan"] = True
    result = pipeline.run()
    assert result.flow.facts["solver"]["status"] == "infeasible"
    assert set(pq.read_table(tmp_path / "out.parquet").column("assignment").to_pylist()) == {-1}
