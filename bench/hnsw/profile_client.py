"""Keeps one psycopg client busy with the benchmark's queries for SECONDS
(as client.py sends them) so that its server backend can be profiled; prints
the backend's PID first and the queries/s at the end.

Usage: profile_client.py CONNINFO TABLE GUC EF QUERIES.tsv SECONDS
"""
import sys
import time

import psycopg

from client_queries import knn_sql, read_queries

conninfo, table, guc, ef, qfile, seconds = sys.argv[1:7]
queries = read_queries(qfile)
sql = knn_sql(table)
with psycopg.connect(conninfo, autocommit=True) as conn:
    conn.execute(f'SET {guc} = {int(ef)}')
    print(conn.info.backend_pid, flush=True)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < float(seconds):
        for q in queries:
            conn.execute(sql, (q,)).fetchall()
        n += len(queries)
    print(round(n / (time.perf_counter() - t0)), flush=True)
