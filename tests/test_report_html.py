"""report.html says nothing report.json does not: every number on the page is one of report.json's
values (as printed, or as a percentage of a share), and the evaluation sections are there. Also the
report of a batch-generation run: lengths, scores, the share that ended at EOS and a sample."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import engine
from tests.decoders import tiny_models as tiny

ROOT = Path(__file__).resolve().parents[1]
SMALL = ("--set", "source.n=500", "--set", "solver.params.budget=150",
         "--set", 'cate.options.model_y="linear"', "--set", 'cate.options.model_t="linear"')
"""The main job on 1,500 rows with linear first stages: every section of the report, quickly."""
ENV = {"OMP_NUM_THREADS": "1"}
NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?%?(?![\w])")


def hookyard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **ENV}, timeout=600)


def uplift_report(folder: Path) -> Path:
    """Run the main job on small data with its report written into `folder`/report."""
    ran = hookyard("run", str(ROOT / "examples" / "uplift.toml"), *SMALL, "--set",
                   f"sink.options.path={json.dumps(str(folder / 'assignment.parquet'))}",
                   "--report", str(folder / "report"), cwd=folder)
    assert ran.returncode == 0, ran.stderr
    return folder / "report"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return uplift_report(tmp_path_factory.mktemp("uplift"))


class _Text(HTMLParser):
    """The page's visible text (tags, attributes and the style sheet left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_numbers(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return NUMBER.findall(" ".join(parser.parts))


def json_values(document: Any) -> tuple[list[float], str]:
    """Every number in a JSON document, and all its strings joined."""
    numbers: list[float] = []
    strings: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, (int, float)):
            numbers.append(float(value))
        elif isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                strings.append(str(key))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(document)
    return numbers, "\n".join(strings)


def unexplained(html: str, document: Any) -> list[str]:
    """The page's numbers that are neither a JSON number as printed (at the page's decimals, percent
    shares times 100) nor text inside one of the JSON's strings."""
    numbers, strings = json_values(document)
    missing = []
    for token in page_numbers(html):
        if token in strings:
            continue
        text = token.rstrip("%").replace(",", "")
        shown = float(text)
        decimals = len(text.split(".")[1]) if "." in text else 0
        scales = (1.0, 100.0) if token.endswith("%") else (1.0,)
        tolerance = 0.5 * 10 ** -decimals + 1e-9
        if not any(abs(value * scale - shown) <= tolerance for value in numbers for scale in scales):
            missing.append(token)
    return missing


def test_every_number_on_the_page_is_in_report_json(report: Path) -> None:
    html = (report / "report.html").read_text()
    document = json.loads((report / "report.json").read_text())
    assert len(page_numbers(html)) > 200
    assert unexplained(html, document) == []


def test_the_check_catches_a_number_that_is_not_in_report_json(report: Path) -> None:
    html = (report / "report.html").read_text()
    document = json.loads((report / "report.json").read_text())
    assert unexplained(html.replace("</body>", "<p>worth 123,456.78 in all</p></body>"), document) == ["123,456.78"]


def test_the_report_has_the_evaluation_sections_with_their_plots(report: Path) -> None:
    html = (report / "report.html").read_text()
    figures = json.loads((report / "report.json").read_text())["figures"]
    for title in ("Policy value (doubly robust)", "Qini and uplift curves", "Calibration", "Encoder drift",
                  "Overlap", "doubly robust evaluation"):
        assert title in html
    for png in ("policy_value.png", "qini.png", "calibration.png", "overlap.png"):
        assert f"src='{png}'" in html and (report / png).read_bytes()[:4] == b"\x89PNG"
    value = figures["policy_value"]
    assert set(value["plans"]) == {"chosen", "naive", "none", "all T1", "all T2", "all T3", "random"}
    for plan in value["plans"].values():
        for key in ("value", "gain"):
            assert plan[key]["lower"] <= plan[key]["value"] <= plan[key]["upper"]
    assert value["plans"]["none"]["gain"]["value"] == 0 and value["plans"]["none"]["treated"] == 0
    assert value["basis"] == "the run's own rows, cross-fitted"
    assert all(p["cost_per_row"] <= 0.1 + 1e-9 for p in value["plans"].values())
    assert sorted(figures["qini"]["treatments"]) == ["T1", "T2", "T3"]
    assert all(len(bins) == 10 for bins in figures["calibration"]["treatments"].values())
    assert figures["drift"]["columns"] and figures["drift"]["drifted"] is False


@pytest.fixture(scope="module")
def generation_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generate")
    model = tiny.write_gpt2(folder / "gpt2")
    ran = hookyard("run", str(ROOT / "examples" / "generate.toml"), "--set", "decoder.name=greedy",
                   "--set", f"decoder.options.model={json.dumps(str(model))}",
                   "--set", f"sink.path={json.dumps(str(folder / 'out.parquet'))}",
                   "--set", "decoder.params.trace_column=\"trace\"", "--report", str(folder / "report"), cwd=ROOT)
    assert ran.returncode == 0, ran.stderr
    return folder / "report"


def test_a_generation_run_gets_its_own_report(generation_report: Path) -> None:
    import pyarrow.parquet as pq

    document = json.loads((generation_report / "report.json").read_text())
    section = document["figures"]["generation"]
    written = pq.read_table(generation_report.parent / "out.parquet")
    texts = written.column("generation").to_pylist()
    assert section["sequences"] == len(texts) == 6
    assert section["characters"]["max"] == max(len(t) for t in texts)
    assert section["scores"]["mean"] == pytest.approx(sum(written.column("score").to_pylist()) / 6)
    assert section["max_new_tokens"] == 20
    direct = engine.decoder("greedy", model=generation_report.parent / "gpt2", max_new_tokens=20).generate(
        written.column("prompt").to_pylist())
    ended = [ids[0][-1] == 1 for ids in direct.token_ids]  # the tiny GPT-2's EOS id is 1
    assert section["eos_share"] == pytest.approx(sum(ended) / 6) and 0 < section["eos_share"] < 1
    assert section["steps"]["max"] == max(len(ids[0]) for ids in direct.token_ids)
    assert len(section["sample"]) == 5 and section["sample"][0]["generation"] == texts[0]
    assert section["sample"][0]["trace"].startswith("step 0: beam 0")
    html = (generation_report / "report.html").read_text()
    assert "Generations" in html and "end-of-sequence" in html and "Policy value" not in html
    assert unexplained(html, document) == []


def test_an_apply_run_over_a_base_without_outcomes_reports_the_training_experiments_evaluation(tmp_path: Path) -> None:
    model, base = tmp_path / "model", tmp_path / "customers.parquet"
    fitted = hookyard("fit", str(ROOT / "examples" / "uplift-fit.toml"), "--model", str(model), *SMALL[:2], *SMALL[4:],
                      cwd=tmp_path)
    assert fitted.returncode == 0, fitted.stderr
    scored = hookyard("run", str(ROOT / "examples" / "customers.toml"), "--set", "source.n=2000",
                      "--set", f"sink.path={json.dumps(str(base))}", cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    ran = hookyard("run", str(ROOT / "examples" / "uplift-apply.toml"), "--set", f"pipeline.model={json.dumps(str(model))}",
                   "--set", f"source.path={json.dumps(str(base))}", "--set", "solver.params.budget=200",
                   "--set", f"sink.path={json.dumps(str(tmp_path / 'plan.parquet'))}",
                   "--report", str(tmp_path / "report"), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    document = json.loads((tmp_path / "report" / "report.json").read_text())
    value = document["figures"]["policy_value"]
    assert value["basis"].startswith("the training experiment") and value["rows"] == 1500
    assert value["plans"]["chosen"]["cost_per_row"] <= 200 / 2000 + 1e-9
    assert document["figures"]["qini"]["basis"] == value["basis"]
    html = (tmp_path / "report" / "report.html").read_text()
    assert "Evaluated on the training experiment of the model bundle" in html
    assert unexplained(html, document) == []


@pytest.mark.filterwarnings("ignore:dml clipped")
def test_a_run_too_thin_to_evaluate_says_why_and_still_reports(tmp_path: Path) -> None:
    import numpy as np

    from engine.report import build_report

    rng = np.random.default_rng(0)
    t = np.array(["control"] * 120 + ["T1"] * 77 + ["T2"] * 3, dtype=object)
    X = rng.uniform(size=(200, 2))
    data = {"x0": X[:, 0], "x1": X[:, 1], "t": t, "y": X[:, 0] + (t == "T1") * 0.5 + rng.normal(size=200)}
    pipeline = engine.Pipeline([
        engine.Step("source", "memory", options={"data": data}),
        engine.Step("cate", "dml", options={"model_y": "linear", "model_t": "linear", "featurizer": "linear"}),
        engine.Step("solver", "mckp", params={"budget": 10, "costs": [0.1, 0.2]}),
    ], name="thin")
    report = build_report(pipeline.run(), pipeline)
    section = report.figures["policy_value"]
    assert "unavailable" in section and "rows" in section["unavailable"]
    assert "qini" not in report.figures and "headline" in report.figures
    report.write(tmp_path / "report")
    html = (tmp_path / "report" / "report.html").read_text()
    assert "No doubly robust evaluation" in html and "policy_value.png" not in html


def test_a_budget_no_plan_can_reach_gives_strict_json_and_finite_frontier_budgets(tmp_path: Path) -> None:
    """A `<=` budget of 1e308: its plan is every row's best, the frontier stops at what the dearest
    plan costs instead of overflowing, and report.json has no NaN or Infinity for strict readers."""
    ran = hookyard("run", str(ROOT / "examples" / "uplift.toml"), *SMALL, "--set", "solver.params.budget=1e308",
                   "--set", 'solver.params.budget_sense="<="', "--set",
                   f"sink.options.path={json.dumps(str(tmp_path / 'assignment.parquet'))}",
                   "--report", str(tmp_path / "report"), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    text = (tmp_path / "report" / "report.json").read_text()
    data = json.loads(text, parse_constant=lambda name: pytest.fail(f"report.json holds {name}"))
    budgets = [point["budget"] for point in data["figures"]["frontier"]["points"]]
    assert all(b is not None and b <= 1e308 for b in budgets) and budgets == sorted(budgets)
