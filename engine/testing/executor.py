"""The executor contract: an executor runs any pipeline to what the `local` executor gives (the same
rows in the same order, the same facts, the same events and step records) and fits as it does.

A suite for a cluster executor may need its cluster up: start it in a session fixture of the test
module (the suite's pipelines are small, so one or two workers do).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa
import pytest

import engine
from engine.testing.base import PluginContract, broke

DATA = {
    "region": ["north", "south", "east", "north", "west", "south", "east", "north"] * 5,
    "spend": [float(i % 7) for i in range(40)],
    "customer_id": list(range(40)),
}


class Observed:
    """An observer that keeps the names, steps and statuses of the events it is sent."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    @engine.hookimpl
    def pipeline_start(self, event: Any) -> None:
        self.events.append(("pipeline_start", event.steps))

    @engine.hookimpl
    def step_start(self, event: Any) -> None:
        self.events.append(("step_start", event.index, event.step))

    @engine.hookimpl
    def step_end(self, event: Any) -> None:
        self.events.append(("step_end", event.index, event.step, event.status, event.rows_in, event.rows_out))

    @engine.hookimpl
    def pipeline_end(self, event: Any) -> None:
        self.events.append(("pipeline_end", event.status))


class ExecutorContract(PluginContract):
    """Subclass, set `name` (and `options`); every pipeline here runs on it and on `local`."""

    kind: ClassVar[str] = "executor"
    batch_size: ClassVar[int] = 16
    """Rows per batch in the suite's runs: several batches per run, so streaming shows."""

    def steps(self) -> list[engine.Step]:
        return [
            engine.Step("source", "memory", options={"data": DATA}),
            engine.Step("encoder", "onehot", options={"columns": ["region"]}),
        ]

    def pipeline(self, executor: str, options: dict[str, Any]) -> engine.Pipeline:
        return engine.Pipeline(self.steps(), name="contract",
                               executor={"name": executor, "options": {**options, "batch_size": self.batch_size}})

    def both(self, method: str, **kwargs: Any) -> tuple[Any, Any, Observed, Observed]:
        seen = Observed(), Observed()
        ours = getattr(self.pipeline(self.name, self.options), method)(observers=[seen[0]], **kwargs)
        local = getattr(self.pipeline("local", {}), method)(observers=[seen[1]], **kwargs)
        return ours, local, *seen

    def test_runs_a_pipeline_to_the_rows_the_local_executor_gives(self) -> None:
        ours, local, _, _ = self.both("run")
        if not ours.table.equals(local.table):
            pytest.fail(broke("an executor gives the local executor's rows, in order",
                              local.table.slice(0, 3).to_pylist(), ours.table.slice(0, 3).to_pylist()))
        assert set(ours.flow.facts) >= set(local.flow.facts), broke(
            "an executor gives every fact the local executor gives", sorted(local.flow.facts), sorted(ours.flow.facts))

    def test_sends_the_events_and_step_records_the_local_executor_sends(self) -> None:
        ours, local, seen, expected = self.both("run")
        assert seen.events == expected.events, broke("the same events, in the same order", expected.events, seen.events)
        strip = [(r.step, r.kind, r.name, r.rows_in, r.rows_out) for r in local.steps]
        assert [(r.step, r.kind, r.name, r.rows_in, r.rows_out) for r in ours.steps] == strip, broke(
            "the same step records (rows in and out)", strip, ours.steps)

    def test_keeps_at_most_collect_rows_as_a_seeded_sample(self) -> None:
        ours, local, _, _ = self.both("run", collect=5)
        assert ours.table.num_rows == 5 and ours.table.equals(local.table), broke(
            "`collect` keeps the local executor's seeded sample", local.table.to_pylist(), ours.table.to_pylist())

    def test_fits_as_the_local_executor_does(self) -> None:
        ours, local, _, _ = self.both("fit")
        assert ours.training_rows == local.training_rows
        assert ours.input_schema.equals(local.input_schema), broke("the same input schema", local.input_schema,
                                                                   ours.input_schema)
        states = [plugin.to_state() for _, plugin, _ in ours.steps]
        assert states == [plugin.to_state() for _, plugin, _ in local.steps], broke(
            "the same fitted state", "the local executor's", states)

    def test_the_input_table_given_to_run_is_streamed_the_same(self) -> None:
        table = pa.table(DATA)
        steps = self.steps()[1:]
        ours = engine.Pipeline(steps, executor={"name": self.name, "options": {**self.options,
                                                                               "batch_size": self.batch_size}})
        local = engine.Pipeline(self.steps()[1:], executor={"name": "local", "options": {"batch_size": self.batch_size}})
        assert ours.run(table).table.equals(local.run(table).table), broke(
            "a table given to run() gives the local executor's rows", "equal tables", "different tables")
