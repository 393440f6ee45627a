"""An observer whose event hook raises is a warning naming it, the run and the other observers go on;
in strict mode it is an error naming it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import engine
from engine.registry import ObserverWarning

DATA = {"n": [1, 2, 3]}

FAILING_OBSERVER = '''
from engine import hookimpl

@hookimpl
def step_start(event):
    raise RuntimeError(f"cannot watch step {event.index}")

@hookimpl
def pipeline_end(event):
    raise OSError(28, "No space left on device")
'''

PIPELINE = """
[pipeline]
name = "watched"

[[steps]]
kind = "source"
name = "memory"
options = {data = {n = [1, 2, 3]}}
"""


class Recorder:
    """An observer that keeps the names of the events it is sent."""

    def __init__(self) -> None:
        self.events: list[str] = []

    @engine.hookimpl
    def pipeline_start(self, event):
        self.events.append("pipeline_start")

    @engine.hookimpl
    def step_start(self, event):
        self.events.append("step_start")

    @engine.hookimpl
    def step_end(self, event):
        self.events.append("step_end")

    @engine.hookimpl
    def pipeline_end(self, event):
        self.events.append(f"pipeline_end {event.status}")


def two_steps() -> engine.Pipeline:
    return engine.Pipeline([engine.Step("source", "memory", options={"data": DATA}),
                            engine.Step("sink", "csv", options={"path": "out.csv"})], name="watched")


@pytest.fixture
def failing(site) -> Path:
    return site("acme-observers", {"acme_watch": FAILING_OBSERVER}, {"watch": "acme_watch"})


def test_a_failing_observer_is_a_warning_and_the_run_and_other_observers_go_on(
    failing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    recorder = Recorder()
    with pytest.warns(ObserverWarning) as caught:
        result = two_steps().run(observers=[recorder])
    assert result.table.column("n").to_pylist() == [1, 2, 3]
    assert (tmp_path / "out.csv").read_text().splitlines() == ['"n"', "1", "2", "3"]
    assert recorder.events == ["pipeline_start", "step_start", "step_start", "step_end", "step_end", "pipeline_end ok"]
    messages = [str(w.message) for w in caught if issubclass(w.category, ObserverWarning)]
    # One warning per run and hook, though step_start failed for both steps.
    assert len(messages) == 2
    assert "distribution 'acme-observers'" in messages[0] and "hook 'step_start'" in messages[0]
    assert "RuntimeError: cannot watch step 1" in messages[0] and "the run goes on" in messages[0]
    assert "hook 'pipeline_end'" in messages[1] and "No space left on device" in messages[1]
    # The warning points at the observer's own code.
    assert caught[0].filename.endswith("acme_watch.py")


def test_each_run_warns_again(failing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        with pytest.warns(ObserverWarning) as caught:
            two_steps().run()
        assert ["step_start" in str(w.message) for w in caught] == [True, False]


def test_strict_mode_makes_a_failing_observer_an_error_naming_it(
    failing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOOKYARD_STRICT_PLUGINS", "1")
    with pytest.raises(engine.PluginError, match=r"distribution 'acme-observers': its hook 'step_start' raised "
                                                 r"RuntimeError: cannot watch step 1 \(HOOKYARD_STRICT_PLUGINS is set"):
        two_steps().run()
    assert not (tmp_path / "out.csv").exists()


END_OBSERVER = '''
from engine import hookimpl

@hookimpl
def pipeline_end(event):
    raise OSError(28, "No space left on device")
'''


def test_in_strict_mode_a_failed_run_keeps_its_own_error_and_notes_the_observers(
    site, hookyard_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = site("acme-end", {"acme_end": END_OBSERVER}, {"end": "acme_end"})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOOKYARD_STRICT_PLUGINS", "1")
    broken = engine.Pipeline([engine.Step("source", "memory", options={"data": DATA, "filters": [("no_such", "==", 1)]}),
                              engine.Step("sink", "csv", options={"path": "out.csv"})], name="watched")
    with pytest.raises(engine.StepError, match="no_such") as caught:
        broken.run()
    notes = getattr(caught.value, "__notes__", [])
    assert len(notes) == 1 and "hook 'pipeline_end' raised OSError" in notes[0] and "acme-end" in notes[0]
    with pytest.raises(engine.PluginError, match="hook 'pipeline_end' raised OSError"):
        two_steps().run()  # a run that went well: the strict observer's failure is the error

    (tmp_path / "broken.toml").write_text(PIPELINE.replace("options = {data = {n = [1, 2, 3]}}",
                                                           'options = {data = {n = [1, 2, 3]}, filters = [["no_such", "==", 1]]}'))
    shown = hookyard_cli("run", "broken.toml", "--no-report",
                         env={"PYTHONPATH": str(root), "HOOKYARD_STRICT_PLUGINS": "1"})
    assert shown.returncode == 1 and shown.stderr.startswith("hookyard: error: ") and "no_such" in shown.stderr.splitlines()[0]
    assert "as the run ended, the observer 'acme-end:end'" in shown.stderr and "Traceback" not in shown.stderr


def test_the_command_line_shows_the_warning_and_exits_zero(failing: Path, hookyard_cli, tmp_path: Path) -> None:
    (tmp_path / "watched.toml").write_text(PIPELINE)
    env = {"PYTHONPATH": os.pathsep.join([str(failing), os.environ.get("PYTHONPATH", "")])}
    result = hookyard_cli("run", "watched.toml", env=env)
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.startswith("hookyard: warning:")]
    assert len(warning) == 2 and "'acme-observers'" in warning[0] and "hook 'step_start'" in warning[0]

    strict = hookyard_cli("run", "watched.toml", env={**env, "HOOKYARD_STRICT_PLUGINS": "1"})
    assert strict.returncode == 1
    assert strict.stderr.startswith(
        "hookyard: error: the observer 'acme-observers:watch' of distribution 'acme-observers'")
