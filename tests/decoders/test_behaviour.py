"""Loading, bad input, traces, stop strings and the pipeline step of the decoder plugins."""

import json
import math

import pyarrow as pa
import pytest

import engine
from engine.kinds.decoder import DecodingTrace
from plugins.decoders.language_model import LanguageModel

from . import tiny_models


def test_text_prompts_go_through_the_saved_tokenizer(gpt2_dir):
    decoder = engine.decoder("greedy", model=str(gpt2_dir), max_new_tokens=6)
    by_text = decoder.generate(["w5 w6 w7", "w9 w10"])
    by_ids = decoder.generate([[5, 6, 7], [9, 10]])
    assert by_text == by_ids
    words = [t.split() for t in by_text.best_texts]
    assert all(w in tiny_models.WORDS for row in words for w in row)
    assert "</s>" not in " ".join(by_text.best_texts)


def test_built_objects_are_accepted_in_place_of_a_folder(gpt2_dir):
    loaded = LanguageModel.load(str(gpt2_dir))
    from_objects = engine.decoder("beam", model=loaded.model, tokenizer=loaded.tokenizer, max_new_tokens=5)
    from_folder = engine.decoder("beam", model=str(gpt2_dir), max_new_tokens=5)
    assert from_objects.generate("w4 w5 w6") == from_folder.generate("w4 w5 w6")


def test_without_a_tokenizer_ids_work_and_texts_are_absent(gpt2_dir):
    model = LanguageModel.load(str(gpt2_dir)).model
    result = engine.decoder("greedy", model=model, max_new_tokens=4).generate([[4, 5, 6]])
    assert result.texts is None and len(result.token_ids[0][0]) >= 1
    with pytest.raises(engine.DataError, match="no tokenizer"):
        engine.decoder("greedy", model=model, max_new_tokens=4).generate("w4 w5")


def test_a_tokenizer_without_pad_token_pads_with_the_model_pad_id(tmp_path):
    folder = tiny_models.write_gpt2(tmp_path / "nopad", pad_token=None)
    decoder = engine.decoder("greedy", model=str(folder), max_new_tokens=6)
    assert decoder.load().language_model_.tokenizer.pad_token is None
    prompts = ["w5 w6 w7 w8 w9", "w11 w4"]
    batched = decoder.generate(prompts)
    alone = [decoder.generate(p).token_ids[0] for p in prompts]
    assert list(batched.token_ids) == alone


def test_num_return_sequences_and_scores_are_best_first(gpt2_dir):
    result = engine.decoder("beam", model=str(gpt2_dir), beam_width=4, num_return_sequences=3,
                            max_new_tokens=8).generate(["w4 w5", "w6 w7 w8"])
    assert [len(row) for row in result.token_ids] == [3, 3]
    for scores in result.scores:
        assert list(scores) == sorted(scores, reverse=True)
    assert result.best_scores == [row[0] for row in result.scores]


def test_stop_strings_end_greedy_rows(gpt2_dir):
    decoder = engine.decoder("greedy", model=str(gpt2_dir), max_new_tokens=10)
    free = decoder.generate("w5 w6 w7").best_texts[0].split()
    assert len(free) >= 3
    stop = free[1]
    stopped = engine.decoder("greedy", model=str(gpt2_dir), max_new_tokens=10, stop_strings=[stop])
    text = stopped.generate("w5 w6 w7").best_texts[0]
    assert text.split() == free[: free.index(stop) + 1]


@pytest.mark.parametrize(("options", "message"), [
    ({"beam_width": 0}, "beam_width must be 1 or more"),
    ({"temperature": 0.0}, "temperature must be greater than 0"),
    ({"temperature": -1.0}, "temperature must be greater than 0"),
    ({"num_return_sequences": 5, "beam_width": 4}, "cannot exceed beam_width"),
    ({"early_stopping": "sometimes"}, "early_stopping"),
    ({"max_new_tokens": 0}, "max_new_tokens must be 1 or more"),
    ({"min_new_tokens": 9, "max_new_tokens": 4}, "min_new_tokens"),
])
def test_bad_options_are_refused_by_name(options, message):
    with pytest.raises(engine.OptionError, match=message):
        engine.decoder("beam", model="unused", **options)


def test_bad_prompts_are_refused_with_what_to_do(gpt2_dir, t5_dir):
    decoder = engine.decoder("beam", model=str(gpt2_dir), max_new_tokens=4)
    with pytest.raises(engine.DataError, match="prompt 1 is empty"):
        decoder.generate(["w4 w5", ""])
    with pytest.raises(engine.DataError, match="no prompts"):
        decoder.generate([])
    with pytest.raises(engine.DataError, match="context of 1024 tokens"):
        decoder.generate([[5] * 1022])
    with pytest.raises(engine.DataError, match="outside the vocabulary"):
        decoder.generate([[5, 99]])
    long_input = engine.decoder("greedy", model=str(t5_dir), max_new_tokens=3).generate([[5] * 1500 + [1]])
    assert len(long_input) == 1, "T5 has relative positions: long inputs are fine"


def test_a_model_without_a_language_model_head_is_refused(tmp_path):
    from transformers import GPT2Config, GPT2Model

    headless = GPT2Model(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=24))
    with pytest.raises(engine.DataError, match="no language-model head"):
        engine.decoder("greedy", model=headless).generate([[4, 5]])
    headless.save_pretrained(tmp_path / "headless")
    with pytest.raises(engine.DataError, match="GPT2Model, which has no language-model head"):
        engine.decoder("greedy", model=str(tmp_path / "headless")).generate([[4, 5]])


def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(engine.DataError, match="could not load a model configuration"):
        engine.decoder("greedy", model=str(tmp_path / "nothing-here")).generate("w4")


def test_beam_trace_records_kept_finished_and_dropped_candidates(gpt2_dir, tmp_path):
    decoder = engine.decoder("beam", model=str(gpt2_dir), beam_width=3, max_new_tokens=6)
    result = decoder.generate(["w4 w5 w6", "w7 w8"], trace=True)
    trace = result.trace
    assert trace.decoder == "beam" and trace.settings["beam_width"] == 3
    first = trace.for_prompt(0)[0]
    assert len(first.candidates) == 6, "K = 2 x beam_width candidates per step"
    assert sum(c.status == "kept" for c in first.candidates) == 3
    for step in trace.steps:
        assert [c.score for c in step.candidates] == sorted((c.score for c in step.candidates), reverse=True)
        assert sum(c.status in ("kept",) for c in step.candidates) <= 3
    statuses = {c.status for s in trace.steps for c in s.candidates}
    assert {"kept", "dropped", "finished"} <= statuses
    text = trace.render()
    assert text.startswith("beam | ") and "finished" in text and "dropped" in text
    path = trace.save(tmp_path / "trace.json")
    assert json.loads(path.read_text())["schema"] == 1
    assert DecodingTrace.load(path) == trace
    assert json.loads(json.dumps(result.to_dict()))["trace"]["decoder"] == "beam"


def test_decay_rule_reproduces_the_seed_articles_figures():
    import torch

    from plugins.decoders.scoring import decay_repeated

    scores = torch.tensor([[-4.922133922576904, -6.399034023284912, -1.0]])
    generated = torch.tensor([[0, 1, 1]])
    decayed = decay_repeated(scores, generated)[0].tolist()
    assert decayed[0] == pytest.approx(-4.922133922576904 * 1.6931471805599454)
    assert decayed[0] == pytest.approx(-8.33389717334955, abs=1e-6)
    assert decayed[1] == pytest.approx(-6.399034023284912 * (1 + math.log(3)))
    assert decayed[2] == -1.0


def test_the_decoder_step_in_a_pipeline_adds_generations_and_scores(gpt2_dir):
    pipeline = engine.Pipeline([
        engine.Step("decoder", "beam", options={"model": str(gpt2_dir), "max_new_tokens": 5, "beam_width": 2},
                    params={"prompt_column": "question"}),
    ])
    table = pa.table({"question": ["w4 w5", "w9 w10 w11"], "id": [1, 2]})
    out = pipeline.run(table).table
    assert out.column_names == ["question", "id", "generation", "score"]
    direct = engine.decoder("beam", model=str(gpt2_dir), max_new_tokens=5, beam_width=2).generate(["w4 w5", "w9 w10 w11"])
    assert out.column("generation").to_pylist() == direct.best_texts
    assert out.column("score").to_pylist() == pytest.approx(direct.best_scores)


def test_the_pipeline_step_names_a_missing_prompt_column(gpt2_dir):
    pipeline = engine.Pipeline([engine.Step("decoder", "greedy", options={"model": str(gpt2_dir)})])
    with pytest.raises(engine.StepError, match="column 'prompt'"):
        pipeline.run(pa.table({"text": ["w4"]}))


def test_several_returned_sequences_become_list_columns(gpt2_dir):
    pipeline = engine.Pipeline([
        engine.Step("decoder", "beam", options={"model": str(gpt2_dir), "max_new_tokens": 4, "beam_width": 3,
                                                "num_return_sequences": 2}),
    ])
    out = pipeline.run(pa.table({"prompt": ["w4 w5", "w6"]})).table
    assert [len(v) for v in out.column("generation").to_pylist()] == [2, 2]
    assert pa.types.is_list(out.schema.field("score").type)
