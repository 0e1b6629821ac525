#!/usr/bin/env bash
# Audit vs the evaluate + report of 669d17c (before run folders), same model, data and settings.
# Usage: bash benchmarks/bench_audit.sh MODEL N [OUT.json]
#   MODEL  a trained classifier folder (e.g. models/minilm-sst2), N  SST-2 dev examples.
# Methods gradient, loo, integrated-gradients; every removal metric; greedy reduction.
# Each side runs alone, one after the other; wall and CPU seconds come from /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=$(realpath "$1"); N=$2; OUT=${3:-benchmarks/results/audit.json}
ROOT=$PWD; PY=$ROOT/.venv/bin/python
export HF_HUB_OFFLINE=1 PATHOLOGIES_DATA=${PATHOLOGIES_DATA:-$(realpath ../shared/data)}
M=comprehensiveness,sufficiency,aopc_comprehensiveness,aopc_sufficiency,ir,ur,i_var,u_var
METHODS=gradient,loo,integrated-gradients
TMP=$(mktemp -d); LOGS=${BENCH_LOGS:-$ROOT/runs/bench_audit_logs}; mkdir -p "$LOGS"
trap 'cp "$TMP"/*.log "$TMP"/*.time "$LOGS"/ 2>/dev/null || true; git -C "$ROOT" worktree remove --force "$TMP/old" 2>/dev/null || true; rm -rf "$TMP"' EXIT
git worktree add -q --detach "$TMP/old" 669d17c
t() { /usr/bin/time -f "%e %U %S" -o "$TMP/$1.time" "${@:2}" > "$TMP/$1.log" 2>&1; cat "$TMP/$1.time"; }
OLD=(env PYTHONPATH="$TMP/old/src" "$PY" -c "from pathologies.cli import main; main()")  # 669d17c's code, this venv
echo "before: evaluate"; t old_eval "${OLD[@]}" evaluate "$MODEL" --data sst2:dev --limit "$N" --methods $METHODS --metrics $M --out "$TMP/old_eval"
echo "before: report";   t old_report "${OLD[@]}" report "$MODEL" --data sst2:dev --limit "$N" --methods $METHODS --metrics $M --out "$TMP/old.html"
echo "now: audit";       t new_audit $ROOT/.venv/bin/pathologies audit "$MODEL" --data sst2:dev --limit "$N" --methods $METHODS --metrics $M --reduce greedy --device cpu --out "$TMP/run"
echo "now: report";      t new_report $ROOT/.venv/bin/pathologies report "$TMP/run" --out "$TMP/new.html"
$PY - "$TMP" "$OUT" "$MODEL" "$N" <<'PY'
import json, os, platform, socket, sys, datetime
tmp, out, model, n = sys.argv[1:]
def read(name):
    wall, user, sys_ = map(float, open(f"{tmp}/{name}.time").read().split()[-3:])
    return {"wall_s": wall, "cpu_s": round(user + sys_, 2)}
r = {k: read(k) for k in ("old_eval", "old_report", "new_audit", "new_report")}
before = {k: r["old_eval"][k] + r["old_report"][k] for k in ("wall_s", "cpu_s")}
row = {
    "date": datetime.date.today().isoformat(), "machine": f"{socket.gethostname()} ({platform.machine()}, {os.cpu_count()} cores)",
    "load_before": os.getloadavg()[0], "model": model, "examples": int(n), "methods": "gradient,loo,integrated-gradients",
    "metrics": "comprehensiveness,sufficiency,aopc_comprehensiveness,aopc_sufficiency,ir,ur,i_var,u_var", "reduction": "greedy (gradient)",
    **r, "before_total": before,
    "ratio_wall": round((r["new_audit"]["wall_s"] + r["new_report"]["wall_s"]) / before["wall_s"], 3),
    "ratio_cpu": round((r["new_audit"]["cpu_s"] + r["new_report"]["cpu_s"]) / before["cpu_s"], 3),
    "ratio_audit_only_wall": round(r["new_audit"]["wall_s"] / before["wall_s"], 3),
}
rows = json.load(open(out)) if os.path.exists(out) else []
rows.append(row)
json.dump(rows, open(out, "w"), indent=2)
print(json.dumps(row, indent=2))
PY
