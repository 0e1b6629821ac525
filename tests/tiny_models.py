"""Tiny Hugging Face classifiers built inside the tests: random weights, tokenizers written here."""

from __future__ import annotations

from pathlib import Path

WORDS = (
    "the a movie film was is great fun bad boring not very good awful . , ! "
    "man woman dog sleeps runs nobody sleeping outside inside un ##believ ##ably ##able"
).split()


def make_bert_dir(root: Path, num_labels: int = 2, max_position_embeddings: int = 64) -> Path:
    """A 2-layer BERT classifier with a WordPiece vocabulary written by the test."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast
    import torch

    root.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tok = BertTokenizerFast(vocab=str(root / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_position_embeddings,
        num_labels=num_labels,
        id2label={i: f"class{i}" for i in range(num_labels)},
        label2id={f"class{i}": i for i in range(num_labels)},
    )
    BertForSequenceClassification(config).save_pretrained(root)
    tok.save_pretrained(root)
    return root


def make_roberta_dir(root: Path, num_labels: int = 2) -> Path:
    """A 2-layer RoBERTa classifier with a byte-level BPE tokenizer trained by the test."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaForSequenceClassification, RobertaTokenizerFast
    import torch

    root.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    corpus = ["the movie was great fun .", "the film is not very good !", "a man sleeps outside ."] * 5
    bpe.train_from_iterator(
        corpus, vocab_size=300, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    )
    bpe.save_model(str(root))
    tok = RobertaTokenizerFast(vocab=str(root / "vocab.json"), merges=str(root / "merges.txt"))
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=tok.vocab_size + 5,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=66,
        num_labels=num_labels,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    RobertaForSequenceClassification(config).save_pretrained(root)
    tok.save_pretrained(root)
    return root
