"""Markdown tables from results.jsonl: one table per data set, one row per engine.

Usage: table.py results.jsonl [SINCE]   -- SINCE: an ISO time; only runs whose
header line ("# 2026-...Z N=...") is at or after it count.  Each data set is
shown from the latest run that measured it.
"""
import json
import sys

since = sys.argv[2] if len(sys.argv) > 2 else ''
runs = {}        # kind -> header of the run that measured it
cells = {}       # (kind, engine) -> {"build_s", "size_mb", ef -> (recall, qps, cpu)}
client = {}      # (kind, engine) -> {ef -> (recall, qps)}: client.py's psycopg pass
profiles = {}    # (kind, engine) -> profile_split.py's line
header = None
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith('# tracks:') and header:
        # run.sh's note on the real-embedding set: part of the run's header
        header = header.split(' (tracks:')[0] + ' (' + line[2:] + ')'
        continue
    if line.startswith('#'):
        header = line[2:]
        continue
    if not line or header is None or header.split()[0] < since:
        continue
    r = json.loads(line)
    if 'split_pct' in r:
        profiles[(r['kind'], r['engine'])] = r
        continue
    if runs.get(r['kind']) != header:
        cells = {k: v for k, v in cells.items() if k[0] != r['kind']}
        client = {k: v for k, v in client.items() if k[0] != r['kind']}
        runs[r['kind']] = header
    if r.get('client'):
        if 'error' in r:
            continue
        client.setdefault((r['kind'], r['engine']), {})[r['ef']] = (r['recall'], r['qps'])
        continue
    c = cells.setdefault((r['kind'], r['engine']), {})
    if 'ef' in r:
        c[r['ef']] = (r['recall'], r['qps'], r.get('cpu_ms'))
    else:
        c['build_s'] = r['build_s']
        c['size_mb'] = r.get('size_mb')

efs = sorted({k for c in cells.values() for k in c if isinstance(k, int)})
# instsim's storages (run.sh STORAGE) as engines of their own, float first
ENGINES = ['instsim', 'instsim-half', 'instsim-int8', 'pgvector', 'hnswlib']
for kind in dict.fromkeys(k for k, _ in cells):
    print(f'### {kind}\n\nrun: `{runs[kind]}`\n')
    head = '| engine | build (s) | index (MB) | ' + ' | '.join(
        f'ef {ef}: recall / QPS / CPU ms' for ef in efs) + ' |'
    print(head)
    print('|' + '---|' * (3 + len(efs)))
    for engine in ENGINES:
        c = cells.get((kind, engine))
        if c is None:
            continue
        row = [engine, str(c.get('build_s', '')), str(c.get('size_mb') or '-')]
        for ef in efs:
            if ef in c:
                rec, qps, cpu = c[ef]
                row.append(f'{rec:.4f} / {qps} / {cpu if cpu is not None else "-"}')
            else:
                row.append('')
        print('| ' + ' | '.join(row) + ' |')
    print()

# Client-side: each engine at its cheapest ef reaching recall@10 >= 0.99.
TARGET = 0.99
kinds = list(dict.fromkeys(k for k, _ in client))
if kinds:
    print('### client-side (one psycopg client, one query per statement)\n')
    print('Best queries/s at recall@10 >= 0.99 (the ef that gives it); '
          'ratio = instsim / pgvector.\n')
    print('| set | instsim | pgvector | ratio |')
    print('|---|---|---|---|')
    for kind, mine in ((k, e) for k in kinds for e in ENGINES[:3] if (k, e) in client):
        best = {}
        for engine in (mine, 'pgvector'):
            ok = [(qps, ef, rec) for ef, (rec, qps) in client.get((kind, engine), {}).items()
                  if rec >= TARGET]
            best[engine] = max(ok) if ok else None
        fmt = {e: (f'{b[0]} q/s (ef {b[1]}, recall {b[2]:.4f})' if b else 'not reached')
               for e, b in best.items()}
        ratio = (f"{best[mine][0] / best['pgvector'][0]:.2f}x"
                 if best[mine] and best['pgvector'] else '-')
        label = kind if mine == 'instsim' else f'{kind} ({mine})'
        print(f"| {label} | {fmt[mine]} | {fmt['pgvector']} | {ratio} |")
    print()

if profiles:
    print('### where the serving backend\'s time goes (perf samples, %)\n')
    parts = list(dict.fromkeys(p for r in profiles.values() for p in r['split_pct']))
    print('| set | engine | ef | q/s | ' + ' | '.join(parts) + ' |')
    print('|' + '---|' * (4 + len(parts)))
    for (kind, engine), r in profiles.items():
        print(f"| {kind} | {engine} | {r['profile_ef']} | {r['qps']} | " +
              ' | '.join(str(r['split_pct'].get(p, 0)) for p in parts) + ' |')
    print()
