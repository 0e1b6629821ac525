#!/usr/bin/env bash
# Mutation testing of the core modules with mutmut 3, one module at a time.
#
#   bash benchmarks/mutate.sh                 # every module below
#   bash benchmarks/mutate.sh engine metrics  # some of them
#
# Each module runs in its own scratch copy ($MUTATE_WORK/<module>) of the committed tree
# (MUTATE_FROM=HEAD, the default, or any commit; MUTATE_FROM=worktree copies the working
# tree as it is), so the checkout is never touched, with only the test files that exercise that module
# (mutmut then picks, per mutated function, the tests that call it). One worker, nice 19:
# the machine is shared. Results: benchmarks/results/mutation-<module>.json (counts and
# the surviving mutants with their diffs); the triage lives in benchmarks/MUTATION.md.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
WORK=${MUTATE_WORK:-${TMPDIR:-/tmp}/pathologies-mutate}
OUT=${MUTATE_OUT:-$ROOT/benchmarks/results}
CHILDREN=${MUTATE_CHILDREN:-1}
# Wall-clock limit per module in seconds (0: none). A module stopped by it is reported with
# its unchecked mutants as "not checked" and "partial": true.
LIMIT=${MUTATE_LIMIT:-0}
# MUTATE_RESUME=1: keep the module's scratch folder of an earlier run (a run stopped by
# MUTATE_LIMIT continues where it stopped), refresh its tests/ from MUTATE_FROM, and re-check
# every mutant that was not killed against the refreshed tests (tests added to kill survivors).
RESUME=${MUTATE_RESUME:-0}

declare -A FILES TESTS
FILES[engine]="src/pathologies/engine.py"
TESTS[engine]="tests/test_engine.py tests/test_oracle_engine.py"
FILES[reduction]="src/pathologies/reduction.py"
# The BERT-based tests of test_reduction.py take seconds per mutant: the oracle file (an
# exact model whose labels flip) and the BoW tests cover the algorithm.
TESTS[reduction]="tests/test_oracle_reduction.py tests/test_reduction.py::test_reduction_ends_on_the_one_decisive_word tests/test_reduction.py::test_threshold_and_step_limit tests/test_reduction.py::test_beam_schedule"
# All of metrics/: evaluate.py (metric_records, evaluate_examples), aggregate.py, base.py (the
# metric table), figures.py (report figure data) and the lazy __init__.py.
FILES[metrics]="src/pathologies/metrics/removal.py src/pathologies/metrics/calibration.py src/pathologies/metrics/replacement.py src/pathologies/metrics/plausibility.py src/pathologies/metrics/evaluate.py src/pathologies/metrics/aggregate.py src/pathologies/metrics/base.py src/pathologies/metrics/figures.py src/pathologies/metrics/__init__.py"
TESTS[metrics]="tests/test_metrics.py tests/test_oracle_metrics.py"
FILES[dknn]="src/pathologies/dknn.py src/pathologies/attribution/conformity.py"
TESTS[dknn]="tests/test_dknn.py tests/test_oracle_dknn.py"
FILES[objectives]="src/pathologies/training/objectives.py"
TESTS[objectives]="tests/test_objectives.py tests/test_oracle_objectives.py"
FILES[attribution]="src/pathologies/attribution/gradient.py src/pathologies/attribution/loo.py src/pathologies/attribution/erasure.py src/pathologies/attribution/odds.py src/pathologies/attribution/captum_methods.py src/pathologies/attribution/base.py src/pathologies/attribution/__init__.py"
TESTS[attribution]="tests/test_attribution.py tests/test_oracle_attribution.py"
FILES[marginalization]="src/pathologies/attribution/marginalization.py"
TESTS[marginalization]="tests/test_marginalization.py tests/test_oracle_marginalization.py"
ALL=(engine reduction metrics dknn objectives attribution marginalization)

modules=("$@")
[ ${#modules[@]} -eq 0 ] && modules=("${ALL[@]}")
mkdir -p "$OUT" "$WORK"
export PATHOLOGIES_DATA=${PATHOLOGIES_DATA:-/work/shared/data}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

for m in "${modules[@]}"; do
  [ -n "${FILES[$m]:-}" ] || { echo "unknown module $m (known: ${ALL[*]})" >&2; exit 2; }
  dir="$WORK/$m"
  resume=0
  if [ "$RESUME" = 1 ] && [ -d "$dir/mutants" ]; then
    resume=1
    rm -rf "$dir/tests"
    if [ "${MUTATE_FROM:-HEAD}" = worktree ]; then
      cp -r "$ROOT/tests" "$dir/"
    else
      git -C "$ROOT" archive "${MUTATE_FROM:-HEAD}" tests | tar -x -C "$dir"
    fi
  else
    rm -rf "$dir" && mkdir -p "$dir"
    if [ "${MUTATE_FROM:-HEAD}" = worktree ]; then
      cp -r "$ROOT/src" "$ROOT/tests" "$ROOT/pyproject.toml" "$dir/"
    else
      git -C "$ROOT" archive "${MUTATE_FROM:-HEAD}" src tests pyproject.toml | tar -x -C "$dir"
    fi
  fi
  commit=$(git -C "$ROOT" rev-parse --short "${MUTATE_FROM:-HEAD}" 2>/dev/null || echo worktree)
  [ "${MUTATE_FROM:-HEAD}" = worktree ] && commit="worktree on $(git -C "$ROOT" rev-parse --short HEAD)"
  # The source mutated stays that of the first run; a resumed run says so.
  if [ "$resume" = 1 ] && [ -f "$dir/.source" ]; then
    commit="source $(cat "$dir/.source"), tests $commit (resumed)"
  else
    echo "$commit" > "$dir/.source"
  fi
  find "$dir" -name __pycache__ -prune -exec rm -rf {} +
  {
    echo "[mutmut]"
    echo "source_paths = src"
    echo "only_mutate ="
    for f in ${FILES[$m]}; do echo "    $f"; done
    echo "pytest_add_cli_args_test_selection ="
    for t in ${TESTS[$m]}; do echo "    $t"; done
    echo "pytest_add_cli_args ="
    echo "    -p"
    echo "    no:cacheprovider"
    echo "    -x"
    echo "    -q"
    echo "process_isolation = forkserver"
    echo "use_git_change_detection = false"
  } > "$dir/setup.cfg"
  # The copy's pyproject.toml must not carry a [tool.mutmut] table (setup.cfg is read otherwise).
  start=$(date +%s)
  echo "== $m: $(date -u +%FT%TZ) mutating ${FILES[$m]}"
  # Lowest priority: the machine is shared with timing benchmarks.
  rc=0
  tmo=()
  [ "$LIMIT" -gt 0 ] && tmo=(timeout --signal=INT --kill-after=30 "$LIMIT")
  names=()
  if [ "$resume" = 1 ]; then
    # mutants that survived last time (not timeouts: they count as killed and are slow):
    # re-checked by name (a plain run lets earlier results stand)
    mapfile -t names < <(cd "$dir" && "$PY" -m mutmut results --all true 2>/dev/null \
      | awk -F': ' 'NF==2 && $2!="killed" && $2!="timeout" && $2!="not checked" {gsub(/^ +/,"",$1); print $1}')
    (cd "$dir" && "${tmo[@]}" nice -n 19 "$PY" -m mutmut run --max-children "$CHILDREN" >> "$dir/run.log" 2>&1) || rc=$?
  else
    (cd "$dir" && "${tmo[@]}" nice -n 19 "$PY" -m mutmut run --max-children "$CHILDREN" > "$dir/run.log" 2>&1) || rc=$?
  fi
  if [ "$rc" -eq 0 ] && [ ${#names[@]} -gt 0 ]; then
    echo "== $m: re-checking ${#names[@]} mutants not killed before"
    (cd "$dir" && "${tmo[@]}" nice -n 19 "$PY" -m mutmut run --max-children "$CHILDREN" "${names[@]}" >> "$dir/run.log" 2>&1) || rc=$?
  fi
  partial=0
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    partial=1; echo "== $m: stopped after ${LIMIT} s (MUTATE_LIMIT); reporting what ran" >&2
  elif [ "$rc" -ne 0 ]; then
    echo "mutmut run failed for $m; see $dir/run.log" >&2; tail -20 "$dir/run.log" >&2; exit 1
  fi
  secs=$(( $(date +%s) - start ))
  (cd "$dir" && "$PY" -m mutmut results --all true > "$dir/results.txt" 2>&1 || true)
  (cd "$dir" && "$PY" -m mutmut export-cicd-stats > /dev/null 2>&1 || true)
  "$PY" "$ROOT/benchmarks/mutation_report.py" "$dir" "$m" "$secs" "${FILES[$m]}" "${TESTS[$m]}" "$commit" "$partial" > "$OUT/mutation-$m.json"
  "$PY" - "$OUT/mutation-$m.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"== {d['module']}: {d['killed']} killed of {d['total']} ({d['survived']} survived, "
      f"{d['timeout']} timeout, {d['no_tests']} no tests, {d['other']} other) in {d['seconds']} s")
EOF
done
