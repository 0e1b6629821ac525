"""The Classifier implementations: alignment, special tokens, truncation, saving, errors."""

from __future__ import annotations

import pytest
import torch

from pathologies import Example, InputError
from pathologies.models import (
    PAD_WORD,
    UNK_WORD,
    ZERO_WORD,
    BiLSTM,
    HFClassifier,
    TextCNN,
    load_classifier,
)
from tiny_models import make_bert_dir, make_roberta_dir

VOCAB = ["<pad>", "<unk>", "<sep>", "the", "movie", "was", "great", "bad", "a", "man", "sleeps"]


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return load_classifier(str(make_bert_dir(tmp_path_factory.mktemp("bert"))))


@pytest.fixture(scope="module")
def roberta(tmp_path_factory):
    return load_classifier(str(make_roberta_dir(tmp_path_factory.mktemp("roberta"))))


def native(cls, **kw):
    return cls.create(["neg", "pos"], VOCAB, glove=False, seed=0, **kw)


def pieces_of(model, example):
    enc = model.encode([example])
    ids = enc.input_ids[0][enc.attention_mask[0].bool()]
    widx = enc.word_index[0][enc.attention_mask[0].bool()]
    toks = model.tokenizer.convert_ids_to_tokens(ids.tolist())
    return toks, widx.tolist()


def test_bert_wordpiece_alignment_and_special_tokens(bert):
    ex = Example.from_text("the movie was unbelievably great")
    toks, widx = pieces_of(bert, ex)
    assert toks[0] == "[CLS]" and toks[-1] == "[SEP]"
    assert widx[0] == -1 and widx[-1] == -1  # special tokens belong to no word
    by_word = {}
    for t, w in zip(toks, widx):
        if w >= 0:
            by_word.setdefault(w, []).append(t)
    assert by_word[3] == ["un", "##believ", "##ably"]  # one word, three pieces
    assert sorted(by_word) == [0, 1, 2, 3, 4]
    assert bert.n_tokens(ex) == len(toks)


def test_roberta_byte_level_alignment(roberta):
    ex = Example.from_text("the movie was great fun")
    toks, widx = pieces_of(roberta, ex)
    assert toks[0] == "<s>" and toks[-1] == "</s>"
    words = {}
    for t, w in zip(toks, widx):
        if w >= 0:
            words.setdefault(w, []).append(t)
    assert sorted(words) == [0, 1, 2, 3, 4]
    # Every word starts with the byte-level space marker: the prefix space was added.
    assert all(ps[0].startswith("\u0120") for ps in words.values())
    assert "".join(words[1]).replace("\u0120", "") == "movie"
    assert roberta.n_tokens(ex) == len(toks)


@pytest.mark.parametrize("fixed_first", [True, False])
def test_pair_fixed_segment_has_no_word_index(bert, fixed_first):
    ex = Example(("nobody", "sleeps"), fixed=("a", "man", "sleeps", "outside"), fixed_first=fixed_first)
    toks, widx = pieces_of(bert, ex)
    marked = [t for t, w in zip(toks, widx) if w >= 0]
    assert marked == ["nobody", "sleeps"]
    assert toks.count("[SEP]") == 2
    first_sep = toks.index("[SEP]")
    perturbed_positions = [i for i, w in enumerate(widx) if w >= 0]
    if fixed_first:
        assert min(perturbed_positions) > first_sep
    else:
        assert max(perturbed_positions) < first_sep


def test_sentinel_words_become_special_tokens(bert):
    ex = Example(("the", PAD_WORD, UNK_WORD, ZERO_WORD, "great"))
    enc = bert.encode([ex])
    ids = enc.input_ids[0].tolist()
    tok = bert.tokenizer
    assert ids[2] == tok.pad_token_id and ids[3] == tok.unk_token_id and ids[4] == tok.pad_token_id
    assert enc.zero_mask[0].tolist() == [False, False, False, False, True, False, False]
    assert enc.word_index[0].tolist() == [-1, 0, 1, 2, 3, 4, -1]
    emb = bert.embed_with_zeros(enc)
    assert torch.all(emb[0, 4] == 0) and not torch.all(emb[0, 3] == 0)


@pytest.mark.parametrize("family", ["bert", "roberta", "textcnn", "bilstm"])
def test_probabilities_do_not_depend_on_batch_company(family, bert, roberta):
    model = {"bert": bert, "roberta": roberta}.get(family) or native(
        TextCNN if family == "textcnn" else BiLSTM
    )
    a = Example.from_text("the movie was great")
    b = Example.from_text("a man sleeps the movie was bad the movie was great fun")
    alone = model.predict_proba([a])
    together = model.predict_proba([b, a])
    assert torch.allclose(alone[0], together[1], atol=1e-5)
    assert torch.allclose(together.sum(1), torch.ones(2), atol=1e-5)


@pytest.mark.parametrize("family", ["bert", "textcnn", "bilstm"])
def test_gradients_and_representations_have_the_documented_shapes(family, bert):
    model = bert if family == "bert" else native(TextCNN if family == "textcnn" else BiLSTM)
    exs = [Example.from_text("the movie was great"), Example.from_text("bad")]
    grads = model.embedding_gradients(exs, [1, 0])
    assert [g.n_words for g in grads] == [4, 1]
    assert set(grads[0].word_index.tolist()) >= {0, 1, 2, 3}
    assert grads[0].gradients.shape == grads[0].embeddings.shape
    assert grads[0].gradients.abs().sum() > 0
    reps = model.representations(exs)
    assert len(reps.layers) >= 2
    assert all(v.shape[0] == 2 for v in reps.layers.values())
    assert reps.sentence.shape[0] == 2


def test_gradient_target_must_be_a_model_label(bert):
    with pytest.raises(InputError, match="not one of the model's labels"):
        bert.embedding_gradients([Example.from_text("the movie")], [5])
    with pytest.raises(InputError, match="not one of the model's labels"):
        bert.label_index("positive")
    assert bert.label_index("class1") == 1


def test_over_long_input_is_truncated_with_a_warning(bert):
    ex = Example.from_text(" ".join(["movie"] * 100))
    with pytest.warns(UserWarning, match=r"dropped the last 38 words"):
        fitted = bert.fit_to_limit(ex)
    assert len(fitted.words) == 62  # 64 positions minus [CLS] and [SEP]
    assert bert.n_tokens(fitted) == bert.max_tokens


def test_over_long_fixed_segment_is_a_clear_error(bert):
    ex = Example(("sleeps",), fixed=tuple(["man"] * 80))
    with pytest.raises(InputError, match="fixed segment"):
        bert.fit_to_limit(ex)


def test_empty_variant_still_scores(bert):
    probs = bert.predict_proba([Example(()), Example((), fixed=("a", "man"))])
    assert probs.shape == (2, 2)
    for cls in (TextCNN, BiLSTM):
        assert native(cls).predict_proba([Example(())]).shape == (1, 2)


@pytest.mark.parametrize("cls", [TextCNN, BiLSTM])
def test_native_save_and_load_round_trip(cls, tmp_path):
    model = native(cls)
    model.save(tmp_path / "m")
    assert (tmp_path / "m" / "model.safetensors").is_file()
    again = load_classifier(tmp_path / "m")
    assert type(again) is cls
    exs = [Example.from_text("the movie was great"), Example.pair("a man sleeps", "the man")]
    assert torch.allclose(model.predict_proba(exs), again.predict_proba(exs))


def test_textcnn_sizes_follow_the_paper():
    net = native(TextCNN).module
    assert [c.kernel_size[0] for c in net.convs] == [3, 4, 5]
    assert all(c.out_channels == 150 for c in net.convs)
    lstm = native(BiLSTM).module.lstm
    assert lstm.hidden_size == 150 and lstm.bidirectional


def test_missing_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="model path does not exist"):
        load_classifier(str(tmp_path / "nope" / "model"))
    with pytest.raises(InputError, match="model path does not exist"):
        load_classifier("./no-such-model")


def test_hf_round_trip_through_save(bert, tmp_path):
    bert.save(str(tmp_path / "copy"))
    again = load_classifier(str(tmp_path / "copy"))
    assert isinstance(again, HFClassifier) and again.labels == ["class0", "class1"]
    ex = [Example.from_text("the movie was great")]
    assert torch.allclose(bert.predict_proba(ex), again.predict_proba(ex), atol=1e-6)


def test_bad_user_text_is_a_clear_error():
    with pytest.raises(InputError, match="empty text"):
        Example.from_text("   ")
    with pytest.raises(InputError, match="both segments"):
        Example.pair("a man sleeps", "")
