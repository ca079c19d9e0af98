-- avg() and sum() over embeddings, serial and parallel.

SELECT avg(e), sum(e) FROM (VALUES ('[1,2,3]'::embedding), ('[3,4,5]'), (NULL)) s(e);
SELECT avg(e), sum(e) FROM (VALUES (NULL::embedding)) s(e);
SELECT avg(e), sum(e) FROM (SELECT '[1]'::embedding WHERE false) s(e);
-- the paper's track centroid
SELECT l2_normalize(avg(e)) FROM (VALUES ('[1,0]'::embedding), ('[0,1]')) s(e);
-- grouped
SELECT g, avg(e) FROM (VALUES (1, '[1,1]'::embedding), (1, '[3,3]'), (2, '[5,6]')) s(g, e)
GROUP BY g ORDER BY g;

\set VERBOSITY sqlstate
SELECT avg(e) FROM (VALUES ('[1,2]'::embedding), ('[1,2,3]')) s(e);
SELECT sum(e) FROM (VALUES ('[3e38]'::embedding), ('[3e38]')) s(e);
-- the transition functions validate states passed in by hand
SELECT embedding_accum('{}', '[1]');
SELECT embedding_accum('{{1,2}}', '[1]');
SELECT embedding_accum('{1,NULL}', '[1]');
SELECT embedding_combine('{1,2}', '{1,2,3}');
-- issue #15: states with non-finite values, a count that is not a
-- non-negative integer, or sums that do not match the count are rejected
SELECT embedding_avg('{1,NaN}');
SELECT embedding_sum('{1,Infinity}');
SELECT embedding_avg('{-1,5}');
SELECT embedding_avg('{0.5,5}');
SELECT embedding_avg('{Infinity,5}');
SELECT embedding_avg('{NaN,5}');
SELECT embedding_avg('{3}');
SELECT embedding_avg('{0,5}');
SELECT embedding_accum('{1,NaN}', '[1]');
SELECT embedding_accum('{-1,2}', '[1]');
SELECT embedding_accum('{2}', '[1]');
SELECT embedding_combine('{1,2}', '{1,-Infinity}');
SELECT embedding_combine('{1,NaN}', '{0}');
SELECT embedding_combine('{0}', '{1.5,2}');
-- sums that overflow float4 in the final function, or double in combine
SELECT embedding_sum('{2,1e300}');
SELECT embedding_combine('{1,1e308}', '{1,1e308}');
SELECT sum(e) FROM (SELECT '[3e38,1]'::embedding FROM generate_series(1, 3)) s(e);
-- an aggregate of one's own with a bad INITCOND hits the same checks
CREATE AGGREGATE bad_avg(embedding) (SFUNC = embedding_accum, STYPE = float8[],
	FINALFUNC = embedding_avg, INITCOND = '{1,NaN}');
SELECT bad_avg(e) FROM (VALUES ('[1]'::embedding), ('[2]')) s(e);
DROP AGGREGATE bad_avg(embedding);
\set VERBOSITY default
SELECT embedding_accum('{0}', '[1,2]'), embedding_accum('{1,1,1}', '[1,2]'),
       embedding_combine('{1,1,1}', '{2,3,4}'), embedding_combine('{0}', '{2,3,4}'),
       embedding_avg('{2,4,6}'), embedding_avg('{0}');
SELECT embedding_avg('{0.5,5}');

-- parallel aggregation gives the same result as serial
CREATE TABLE segs AS
SELECT i % 100 AS track, ARRAY[sin(i), cos(i), i % 7]::embedding AS e
FROM generate_series(1, 20000) i;
ANALYZE segs;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(e) FROM segs;
SELECT avg(e) AS par_avg, sum(e) AS par_sum FROM segs \gset
SET max_parallel_workers_per_gather = 0;
SELECT avg(e) <-> :'par_avg' < 1e-6 AS avg_same, sum(e) <-> :'par_sum' < 1e-2 AS sum_same
FROM segs;
RESET ALL;
SELECT track, avg(e) FROM segs WHERE track < 3 GROUP BY track ORDER BY track;
DROP TABLE segs;
