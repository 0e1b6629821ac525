"""Markdown tables of the mitigation results (``reproduce_mitigation.py``'s JSON).

    python benchmarks/mitigation_tables.py [benchmarks/results/mitigation.json]

Per family and data set: one row per model of each seed. Over seeds: mean ± s.d. of the
headline columns, and the paired change against the same seed's plain (``ce``) control.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict

COLUMNS = [  # (header, function of a row, format)
    ("acc", lambda r: r["accuracy"], ".3f"),
    ("F(X)", lambda r: r["fx"], ".3f"),
    ("Comp", lambda r: r["comprehensiveness"], ".3f"),
    ("Suff", lambda r: r["sufficiency"], ".3f"),
    ("Comp−Suff", lambda r: r["comprehensiveness"] - r["sufficiency"], ".3f"),
    ("IR#", lambda r: r["ir"], ".2f"),
    ("UR#", lambda r: r["ur"], ".2f"),
    ("UR#−IR#", lambda r: r["ur"] - r["ir"], ".2f"),
    ("I-Var", lambda r: r["i_var"], ".2f"),
    ("U-Var", lambda r: r["u_var"], ".2f"),
    ("greedy len", lambda r: r["reduced_length"], ".3f"),
    ("greedy conf", lambda r: r["reduced_confidence"], ".3f"),
    ("beam-5 len", lambda r: r.get("beam5_reduced_length"), ".3f"),
    ("beam-5 conf", lambda r: r.get("beam5_reduced_confidence"), ".3f"),
    ("random conf", lambda r: r["random_confidence"], ".3f"),
]
HEADLINE = ["acc", "Comp−Suff", "UR#−IR#", "greedy len", "greedy conf", "beam-5 len", "beam-5 conf"]


def cell(value, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def grouped(rows: dict) -> dict:
    """{(family, data): {seed: {model name: row}}} from keys family/data/seedN/name."""
    out: dict = defaultdict(lambda: defaultdict(dict))
    for key, row in rows.items():
        family, data, seed, name = key.split("/", 3)
        out[(family, data)][int(seed.removeprefix("seed"))][name] = row
    return out


def per_seed_table(seeds: dict) -> list[str]:
    lines = ["| seed | model | " + " | ".join(h for h, _, _ in COLUMNS) + " |",
             "|---|---|" + "---:|" * len(COLUMNS)]
    for seed in sorted(seeds):
        for name, row in seeds[seed].items():
            lines.append(f"| {seed} | {name} | " + " | ".join(cell(f(row), fmt) for _, f, fmt in COLUMNS) + " |")
    return lines


def over_seeds_table(seeds: dict) -> list[str]:
    """Mean ± s.d. over seeds, and the mean paired change against each seed's ce control."""
    funcs = {h: (f, fmt) for h, f, fmt in COLUMNS}
    names = [n for n in next(iter(seeds.values())) if all(n in s for s in seeds.values())]
    lines = [f"Over seeds {', '.join(map(str, sorted(seeds)))} (mean ± s.d.; Δce = mean of the same seed's change against `ce`).", "",
             "| model | " + " | ".join(f"{h} | Δce" for h in HEADLINE) + " |",
             "|---|" + "---:|---:|" * len(HEADLINE)]
    for name in names:
        cells = []
        for h in HEADLINE:
            f, fmt = funcs[h]
            vals = [f(seeds[s][name]) for s in seeds]
            if any(v is None for v in vals):
                cells += ["—", "—"]
                continue
            sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
            cells.append(f"{format(statistics.mean(vals), fmt)} ± {format(sd, fmt)}")
            if name == "ce" or any("ce" not in seeds[s] for s in seeds):
                cells.append("—")
            else:
                cells.append(format(statistics.mean(v - f(seeds[s]["ce"]) for v, s in zip(vals, seeds)), "+" + fmt))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def main(path: str = "benchmarks/results/mitigation.json") -> None:
    rows = json.load(open(path))["rows"]
    groups = grouped(rows)
    families, datasets = (list(dict.fromkeys(k[i] for k in groups)) for i in (0, 1))  # first-seen order
    for family, data in sorted(groups, key=lambda k: (datasets.index(k[1]), families.index(k[0]))):
        seeds = groups[(family, data)]
        any_row = next(iter(next(iter(seeds.values())).values()))
        limit = any_row.get("eval_limit")
        print(f"### {family}, {data} ({'first ' + str(limit) if limit else 'all'} evaluation examples)\n")
        print("\n".join(per_seed_table(seeds)) + "\n")
        if len(seeds) > 1:
            print("\n".join(over_seeds_table(seeds)) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
