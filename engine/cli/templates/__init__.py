"""What `hookyard new-plugin` writes for each kind: a working plugin and the test module that runs
its contract suite, kept here as real Python (`<kind>.py`, `<kind>_contract.py`), plus the data
below. A new kind needs those two files and one entry in TEMPLATES.

The files name their class `Example<Suffix>` and their plugin "example"; the scaffold renames both.
"""

from __future__ import annotations

from pathlib import Path

import attrs

FOLDER = Path(__file__).parent


@attrs.frozen
class KindTemplate:
    """One kind's scaffold: the class-name suffix, and what the registration declares."""

    kind: str
    suffix: str
    summary: str
    requires: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    advice: str = ""

    def plugin_source(self) -> str:
        """The plugin module's text (class `Example<suffix>`)."""
        return (FOLDER / f"{self.kind}.py").read_text(encoding="utf-8")

    def test_source(self) -> str:
        """The test module's text, running the kind's contract suite against plugin "example"."""
        return (FOLDER / f"{self.kind}_contract.py").read_text(encoding="utf-8")


TEMPLATES: dict[str, KindTemplate] = {
    t.kind: t
    for t in (
        KindTemplate("encoder", "Encoder", "one-hot encoding of string columns, its levels saved as JSON",
                     ("pyarrow",), ("persist",),
                     "Change fit/transform; keep the output columns fixed by fit whatever levels later data brings."),
        KindTemplate("decoder", "Decoder", "greedy decoding over the prompt's own byte bigrams",
                     (), (), "Replace _next_scores with a language model's next-token log-probabilities."),
        KindTemplate("cate", "CATE", "a T-learner: one linear outcome model per treatment level",
                     ("numpy",), (), "Replace the per-arm least squares with your estimator; keep the input checks."),
        KindTemplate("solver", "Solver", "greedy assignment under a budget, without a proven bound",
                     ("numpy",), (), "Replace the greedy loop; set exact/proves_bound in the test as your solver earns them."),
        KindTemplate("source", "Source", "the rows of a JSON-lines file, with projection and filters",
                     ("pyarrow",), ("projection", "filters"), "Change _load to read your format."),
        KindTemplate("sink", "Sink", "JSON lines, streamed into a file that appears whole or not at all",
                     ("pyarrow",), (), "Change how each batch is written; keep writing through atomic_path."),
        KindTemplate("executor", "Executor", "runs pipelines in this process in small batches",
                     ("pyarrow",), (), "Replace run and fit with dispatch to your engine; the suite compares you with local."),
    )
}
