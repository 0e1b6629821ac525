"""Summarize one mutmut run (a scratch folder of benchmarks/mutate.sh) as JSON: counts per
status and every surviving mutant with its diff. Usage: mutation_report.py DIR MODULE SECONDS FILES TESTS COMMIT [PARTIAL]"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

directory, module, seconds, files, tests, commit = sys.argv[1:7]
partial = len(sys.argv) > 7 and sys.argv[7] == "1"
d = Path(directory)
status: dict[str, str] = {}
for line in (d / "results.txt").read_text().splitlines():
    name, sep, state = line.strip().rpartition(": ")
    if sep and name:
        status[name] = state.strip()
counts: dict[str, int] = {}
for s in status.values():
    counts[s] = counts.get(s, 0) + 1
survivors = []
for name, s in sorted(status.items()):
    if s not in ("killed", "not checked"):
        diff = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=d, capture_output=True, text=True).stdout
        survivors.append({"mutant": name, "status": s, "diff": diff.strip()})
killed = counts.get("killed", 0)
known = {"killed", "survived", "timeout", "no tests"}
out = {
    "module": module,
    "source": commit,
    "files": files.split(),
    "tests": tests.split(),
    "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "machine": f"{platform.node()} ({platform.machine()}, {platform.processor() or 'cpu'}), python {platform.python_version()}",
    "tool": "mutmut " + subprocess.run([sys.executable, "-m", "mutmut", "--version"], cwd=d, capture_output=True, text=True).stdout.split()[-1],
    "seconds": int(seconds),
    "partial": partial,
    "total": len(status),
    "killed": killed,
    "survived": counts.get("survived", 0),
    "timeout": counts.get("timeout", 0),
    "no_tests": counts.get("no tests", 0),
    "other": sum(v for k, v in counts.items() if k not in known),
    "by_status": counts,
    "score": round(killed / len(status), 4) if status else None,
    "not_killed": survivors,
}
json.dump(out, sys.stdout, indent=1)
print()
