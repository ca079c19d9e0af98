"""Queries/s as an application sees them: one psycopg client sending one query
per statement (psycopg prepares a statement after its fifth use, as it does in
any application), the query vector as a text parameter.

Usage: client.py CONNINFO KIND ENGINE TABLE GUC QUERIES.tsv TRUTH.txt PASSES EF...
Prints one JSON line per ef: the best of PASSES timed passes (after one
warm-up pass), recall@10 against TRUTH (comma-separated ids per query).
"""
import json
import sys
import time

import psycopg

from client_queries import knn_sql, read_queries

conninfo, kind, engine, table, guc, qfile, truthfile, passes = sys.argv[1:9]
efs = [int(e) for e in sys.argv[9:]]
queries = read_queries(qfile)
truth = [set(line.strip().split(',')) for line in open(truthfile)]
sql = knn_sql(table)

with psycopg.connect(conninfo, autocommit=True) as conn:
    for ef in efs:
        try:
            conn.execute(f'SET {guc} = {ef}')
        except psycopg.errors.InvalidParameterValue as e:
            # pgvector's ef_search stops at 1000: recorded, not fatal
            print(json.dumps({'kind': kind, 'engine': engine, 'client': 'psycopg', 'ef': ef,
                              'error': str(e).splitlines()[0]}), flush=True)
            continue
        best = None
        for p in range(int(passes) + 1):
            t0 = time.perf_counter()
            got = [[str(r[0]) for r in conn.execute(sql, (q,)).fetchall()] for q in queries]
            dt = time.perf_counter() - t0
            if p > 0 and (best is None or dt < best):
                best = dt
        recall = sum(len(t & set(g)) for t, g in zip(truth, got)) / (10.0 * len(truth))
        print(json.dumps({'kind': kind, 'engine': engine, 'client': 'psycopg', 'ef': ef,
                          'qps': round(len(queries) / best), 'recall': round(recall, 4)}),
              flush=True)
