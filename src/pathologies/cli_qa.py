"""``pathologies qa``: explain and reduce the questions of an extractive QA model.

A view over :mod:`pathologies.qa`: every command is one library call.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from .cli_common import DeviceOpt, EncodingOpt, LimitOpt, TrustOpt, _fail, names
from .text import InputError

qa_app = typer.Typer(
    help="Extractive question answering (SQuAD format): explain the question words for the "
    "predicted answer span, reduce questions while the span stays the same (Feng et al. 2018).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ModelArg = typer.Argument(..., help="An HF question-answering model: a folder or a hub name.")
DataOpt = typer.Option(None, "--data", help="A SQuAD v1.1/v2.0 .json file, or squad[:dev|train] / squad_v2 from the hub.")
QuestionOpt = typer.Option(None, "--question", help="One question (instead of --data); needs --context.")
ContextOpt = typer.Option(None, "--context", help="The context of --question.")
OutOpt = typer.Option(None, "--out", help="A run folder (resumes); without it, JSON lines on stdout.")
NullOpt = typer.Option(
    None, "--null/--no-null",
    help="The null answer can be predicted (SQuAD 2.0 models); default: on for data with unanswerable questions.",
)
MaxLenOpt = typer.Option(384, "--max-length", help="Tokens per window (question + context window), at most the model's limit.")
StrideOpt = typer.Option(128, "--stride", help="Tokens of overlap between context windows.")
ShowOpt = typer.Option(None, "--show", help="Show the first N questions as text (default: 3 with --out, else 0; without --out on stderr).")


def _setup(model_path, data, question, context, limit, null, max_length, stride, device, trust, encoding):
    from .data.squad import QAItem, SquadData, load_qa_data
    from .models.qa import load_qa_model

    from .models.hf import check_model_path

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    check_model_path(model_path)  # a wrong path is named before the data is read
    if limit is not None and limit < 1:
        raise InputError("--limit must be a positive integer")
    if (data is None) == (question is None):
        raise InputError("give --data FILE, or --question with --context")
    if question is not None:
        if not context or not context.split():
            raise InputError("--question needs a non-empty --context")
        if not question.split():
            raise InputError("the question is empty")
        dataset = SquadData([QAItem("#0", question, context)], "", "command line")
    else:
        dataset = load_qa_data(data, limit=limit, encoding=encoding)
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    null_answer = dataset.has_impossible if null is None else null
    model = load_qa_model(model_path, device=device, trust_remote_code=trust, max_length=max_length,
                          stride=stride, null_answer=null_answer)
    return model, dataset


def render(record) -> str:
    """A QA record as text: the question with each word's score (or the reduction), and the
    context with the predicted answer span marked ``[[...]]``."""
    from .qa.records import QAAttribution

    lines = [f"{record.uid}"]
    if isinstance(record, QAAttribution):
        lines.append("  question: " + " ".join(f"{w}({s:+.3g})" for w, s in zip(record.words, record.scores)))
        lines.append(f"  target: {record.target} ({record.method}); p(span) = {record.probability:.3f}")
    else:
        lines.append(f"  question: {' '.join(record.original)}  (p(span) = {record.original_confidence:.3f})")
        lines.append(f"  reduced:  {' '.join(record.final)}  (p(span) = {record.final_confidence:.3f})")
        b = record.random_baseline or {}
        if b:
            kept = "kept" if b["kept_span"] else "lost"
            lines.append(f"  random:   {' '.join(b['words'])}  (span {kept}, p(span) = {b['confidence']:.3f})")
    a, b_ = record.span_chars
    context = record.context
    if a < 0:
        lines.append("  answer: (no answer)")
    else:
        lo, hi = max(0, a - 80), min(len(context), b_ + 80)
        shown = ("..." if lo else "") + context[lo:a] + "[[" + context[a:b_] + "]]" + context[b_:hi] + ("..." if hi < len(context) else "")
        lines.append("  context: " + " ".join(shown.split()))
    if record.gold or record.is_impossible:
        lines.append("  gold: " + (" | ".join(record.gold) if record.gold else "(unanswerable)"))
    return "\n".join(lines)




@qa_app.command()
def report(
    run: Path = typer.Argument(..., help="A QA run folder (pathologies qa explain|reduce --out RUN)."),
    out: Path = typer.Option(..., "--out", help="The HTML file to write."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Questions shown (default: all)."),
) -> None:
    """Render a QA run folder as one HTML page (as pathologies report RUN does); no model needed.

    Question heatmaps beside their contexts with the answer span marked, reductions with their
    paths and random baseline, exact match / F1, provenance.
    """
    from .audit import Run
    from .report.html import write_report

    try:
        if limit is not None and limit < 1:
            raise InputError("--limit must be a positive integer")
        loaded = Run.load(run)
        if loaded.task != "qa":
            raise InputError(f"{run} holds a classifier run, not a QA run; render it with pathologies report")
        write_report([loaded], out, title=f"pathologies: question answering · {loaded.name}", n_show=limit or loaded.manifest["data"]["examples"])
    except InputError as err:
        _fail(str(err))
    print(f"wrote {out} ({loaded.manifest['data']['examples']} questions)")


def _emit(records, out: Optional[Path], summary_name: str, show: Optional[int]) -> None:
    if out is None:
        for r in records:
            print(json.dumps(r.to_dict()))
    else:
        print(f"{len(records)} records in {out} (records/{summary_name}, summary.json); view: pathologies report {out}")
    n = (3 if out is not None else 0) if show is None else show
    for r in records[:n]:  # without --out the view goes to stderr: stdout stays JSON lines
        print(render(r), file=sys.stdout if out is not None else sys.stderr)


@qa_app.command()
def explain(
    model: str = ModelArg,
    data: Optional[str] = DataOpt,
    question: Optional[str] = QuestionOpt,
    context: Optional[str] = ContextOpt,
    method: str = typer.Option("gradient", "--method", help="gradient, gradient-abs, gradient-l2, integrated-gradients, loo, loo-log-odds, erasure-unk, erasure-pad; several, comma-separated, with --out."),
    limit: Optional[int] = LimitOpt,
    out: Optional[Path] = OutOpt,
    chunk: int = typer.Option(32, "--chunk", help="Questions computed and written together."),
    null: Optional[bool] = NullOpt,
    max_length: int = MaxLenOpt,
    stride: int = StrideOpt,
    device: str = DeviceOpt,
    trust_remote_code: bool = TrustOpt,
    encoding: str = EncodingOpt,
    show: Optional[int] = ShowOpt,
) -> None:
    """Score each question word for the predicted answer span (one JSON line per question)."""
    from .audit.qa import run_qa
    from .qa.explain import explain_qa, qa_method

    try:
        methods = names(method)
        if not methods:
            raise InputError("--method names no method")
        for name in methods:
            qa_method(name)
        if len(methods) != 1 and out is None:
            raise InputError("several methods need --out (a run folder holds them side by side)")
        m, dataset = _setup(model, data, question, context, limit, null, max_length, stride, device, trust_remote_code, encoding)
        if out is not None:
            records = run_qa(m, dataset, out, kind="explain", method=methods, chunk=chunk, model_source=model,
                             data_spec=data, show_progress=sys.stderr.isatty()).attributions()
        else:
            records = explain_qa(m, dataset, methods[0])
    except InputError as err:
        _fail(str(err))
    _emit(records, out, "qa_attributions.jsonl", show)


@qa_app.command()
def reduce(
    model: str = ModelArg,
    data: Optional[str] = DataOpt,
    question: Optional[str] = QuestionOpt,
    context: Optional[str] = ContextOpt,
    importance: str = typer.Option("gradient", "--importance", help="Ranking method: gradient, loo, ... (as qa explain)."),
    beam: int = typer.Option(1, "--beam", help="1: greedy; more: beam search of that width."),
    k: int = typer.Option(5, "--k", help="Beam search: the least important words tried per state."),
    limit: Optional[int] = LimitOpt,
    out: Optional[Path] = OutOpt,
    chunk: int = typer.Option(32, "--chunk", help="Questions computed and written together."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random-removal baseline."),
    null: Optional[bool] = NullOpt,
    max_length: int = MaxLenOpt,
    stride: int = StrideOpt,
    device: str = DeviceOpt,
    trust_remote_code: bool = TrustOpt,
    encoding: str = EncodingOpt,
    show: Optional[int] = ShowOpt,
) -> None:
    """Remove question words while the predicted span stays exactly the same (greedy or beam)."""
    from .qa.explain import qa_method
    from .qa.records import summarize_qa
    from .audit.qa import run_qa
    from .qa.reduction import reduce_questions

    try:
        qa_method(importance)
        if beam < 1 or k < 1:
            raise InputError("--beam and --k must be at least 1")
        m, dataset = _setup(model, data, question, context, limit, null, max_length, stride, device, trust_remote_code, encoding)
        if out is not None:
            records = run_qa(m, dataset, out, kind="reduce", method=importance, beam=beam, k=k, chunk=chunk,
                             model_source=model, data_spec=data, show_progress=sys.stderr.isatty(), seed=seed).reductions()
        else:
            records = reduce_questions(m, dataset, importance=importance, beam=beam, k=k, random_seed=seed)
    except InputError as err:
        _fail(str(err))
    _emit(records, out, "qa_reductions.jsonl", show)
    if out is not None:
        print(json.dumps(summarize_qa(records)))


@qa_app.command()
def train(
    model: str = ModelArg,
    data: str = typer.Option(..., "--data", help="Training questions: a SQuAD .json file (or squad:train from the hub)."),
    out: Path = typer.Option(..., "--out", help="Folder to save the fine-tuned model to."),
    dev: Optional[str] = typer.Option(None, "--dev", help="Questions to report exact match / F1 on after each epoch."),
    lam: float = typer.Option(0.0, "--lam", help="Entropy regularization on reduced questions (Feng et al. 2018, eq. 2); 0: plain fine-tuning."),
    importance: str = typer.Option("gradient", "--importance", help="With --lam: the method that ranks words for the reduction."),
    beam: int = typer.Option(1, "--beam", help="With --lam: 1 greedy, more beam search."),
    epochs: int = typer.Option(2, "--epochs"),
    batch_size: int = typer.Option(16, "--batch-size"),
    lr: float = typer.Option(5e-5, "--lr"),
    seed: int = typer.Option(13, "--seed"),
    limit: Optional[int] = LimitOpt,
    null: Optional[bool] = NullOpt,
    max_length: int = MaxLenOpt,
    stride: int = StrideOpt,
    device: str = DeviceOpt,
    trust_remote_code: bool = TrustOpt,
    encoding: str = EncodingOpt,
) -> None:
    """Fine-tune a QA model on gold spans; with --lam, maximize its entropy on reduced questions too."""
    from .data.squad import load_qa_data
    from .qa.explain import qa_method
    from .qa.training import QATrainConfig, entropy_finetune, finetune_qa

    try:
        if lam:
            qa_method(importance)
        if epochs < 1 or batch_size < 1 or lr <= 0 or lam < 0:
            raise InputError("--epochs and --batch-size must be at least 1, --lr more than 0, --lam 0 or more")
        m, dataset = _setup(model, data, None, None, limit, null, max_length, stride, device, trust_remote_code, encoding)
        dev_data = load_qa_data(dev, encoding=encoding) if dev else None
        config = QATrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
        log = lambda line: print(line, flush=True)  # noqa: E731
        if lam:
            report = entropy_finetune(m, dataset, lam=lam, config=config, dev=dev_data, log=log, importance=importance, beam=beam)
        else:
            report = {"config": vars(config), "history": finetune_qa(m, dataset, config=config, dev=dev_data, log=log)}
        m.save(out)
        (Path(out) / "training.json").write_text(json.dumps(report, indent=2))
    except InputError as err:
        _fail(str(err))
    print(f"saved to {out}")


def main(argv=None) -> int:
    """Run ``pathologies qa`` on its own (``python -m pathologies.cli_qa``)."""
    try:
        qa_app(argv, standalone_mode=False)
    except typer.Exit as e:
        return e.exit_code
    except SystemExit as e:  # click's own usage errors
        return int(e.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
