"""Markdown tables from the marginalization benchmark's JSON (for benchmarks/MARGINALIZATION.md).

    python benchmarks/marginalization_tables.py [benchmarks/results/marginalization.json]

Prints one table per section present in the file; nothing is computed here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def fmt(x, digits: int = 4) -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:,.1f}" if abs(x) >= 100 else f"{x:.{digits}g}"
    return str(x)


def p5(x) -> str:
    return "—" if x is None else f"{x:.5f}"


def table(head: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    out += ["| " + " | ".join(fmt(c) if not isinstance(c, str) else c for c in r) + " |" for r in rows]
    return "\n".join(out)


def table3(sec: dict) -> str:
    parts = [f"Table 3: {sec['n_sentences']} SST-2 dev sentences, {sec['n_words']} words; "
             f"masked-LM vocabulary {sec['vocabulary']:,} whole words.\n"]
    mass = sec["candidates_for_mass"]
    parts.append(table(["likelihood mass held", *mass], [["most likely words needed (mean)", *[v["mean"] for v in mass.values()]]]))
    parts.append("")
    ref = sec["reference"]
    rows = [[f"{ref['setting']} (reference)", ref["mean_candidates_per_word"], ref["rows_computed"], ref["seconds"], "1", "—", "—", "—"]]
    for label, r in sec["settings"].items():
        se = r.get("mean_se_bits")
        rows.append([label, r["mean_candidates_per_word"], r["rows_computed"], r["seconds"], p5(r["pearson"]),
                     r.get("max_abs_diff"), se, r.get("reference_inside_bounds_share")])
    parts.append(table(["setting", "candidates / word", "classifier rows", "s", "Pearson", "max abs. diff. bits",
                        "mean s.e. bits", "ref. inside bound"], rows))
    full = sec.get("full_vocabulary")
    if full:
        parts.append(f"\nFull vocabulary (σ = 0) on the first {full['sentences']} sentences ({full['words']} words): "
                     f"Pearson with the reference {fmt(full.get('pearson_with_reference'), 6)}, largest |difference| "
                     f"{fmt(full.get('max_abs_diff_with_reference'))} bits, {full['rows_computed']:,} rows beyond the reference.")
    t = sec.get("target") or {}
    rows = [[k, p5(v["pearson"]), v["rows"], v["ratio_rows_sigma_1e-5"], v["met"]] for k, v in t.get("adaptive", {}).items()]
    if rows:
        parts.append(f"\nTarget: Pearson ≥ {t['pearson_target']} with ≥ {t['rows_ratio_target']:g}× fewer rows than "
                     f"σ = 1e-5 ({fmt(t['rows_sigma_1e-5'])} rows).\n")
        parts.append(table(["adaptive setting", "Pearson", "rows", "× fewer than σ = 1e-5", "met"], rows))
    return "\n".join(parts)


def speed(sec: dict) -> str:
    rows = []
    for label, r in sec["runs"].items():
        lim = r["limit"]
        rows.append([label, r["engine_rows"], r["engine_s"], lim["limit_s"], r["ratio_engine_to_limit"],
                     lim["limit_masked_projection_s"], r["ratio_engine_to_limit_masked_projection"]])
    out = table(["setting / set", "rows", "engine s", "limit s", "ratio", "limit (masked-position projection) s", "ratio"], rows)
    one = sec.get("per_sentence_sigma_1e-3")
    if one:
        out += (f"\n\nσ = 1e-3, one {one['sentences'][0]['words']}-word sentence per call: {one['mean_seconds']} s and "
                f"{one['mean_rows']:,.0f} rows per sentence (mean of {len(one['sentences'])}); the issue's naive "
                f"implementation: {one['issue_naive']['seconds']} s, {one['issue_naive']['rows']:,} rows.")
    return out


def table2(sec: dict) -> str:
    rows = []
    for name, r in sec["methods"].items():
        m = r.get("marginalization") or {}
        rows.append([name, r["auc_rep"], r["sem"], r["n"], r["scores_s"], r["rows_computed"], m.get("mean_candidates_per_word")])
    return (f"Table 2: {sec['sentences']} SST-2 test sentences, {sec['words']} words; marginalization "
            f"{sec['marginalization_setting']}; seed {sec['seed']}.\n\n"
            + table(["method", "AUC_rep ↓", "± s.e.", "n", "scores s", "rows", "candidates / word"], rows))


def iot(sec: dict) -> str:
    rows = []
    for name, r in sec["variants"].items():
        if "skipped" in r:
            rows.append([name, r["skipped"], "", "", "", "", ""])
            continue
        m = r.get("marginalization") or {}
        rows.append([name, r["iot"], r["iot_n"], r["neutral"], r["neutral_n"], m.get("mean_candidates_per_word"), m.get("mean_se_bits")])
    return (f"IoT: {sec['sentences']} sentences ({sec['from']}), {sec['words']} words.\n\n"
            + table(["method / likelihood", "IoT ↑", "n", "neutral ↓", "n", "candidates / word", "mean s.e. bits"], rows))


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/marginalization.json")
    data = json.loads(path.read_text())
    for key, render in (("table3", table3), ("speed", speed), ("table2", table2), ("iot", iot)):
        if key in data:
            print(f"### {key}\n\n{render(data[key])}\n")


if __name__ == "__main__":
    main()
