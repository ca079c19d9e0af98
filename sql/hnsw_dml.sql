-- instsim_hnsw after the build: inserts, NULLs, zero vectors, dimension
-- mismatches, filtered queries with iterative scan, VACUUM and REINDEX.
CREATE EXTENSION IF NOT EXISTS instsim;
SET client_min_messages = warning;

CREATE FUNCTION hnsw_mismatch(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	approx int[];
	exact int[];
BEGIN
	SET LOCAL enable_seqscan = off;
	SET LOCAL enable_indexscan = on;
	EXECUTE 'SELECT array_agg(id) FROM (' || q || ') s' INTO approx;
	SET LOCAL enable_seqscan = on;
	SET LOCAL enable_indexscan = off;
	SET LOCAL enable_bitmapscan = off;
	EXECUTE 'SELECT array_agg(id) FROM (' || q || ') s' INTO exact;
	RETURN (SELECT count(*) FROM unnest(approx) a WHERE a <> ALL (exact))
		+ abs(cardinality(approx) - cardinality(exact));
END $$;

-- an index built on an empty table, with no typmod: dimensions come from the first row
CREATE TABLE hnsw_d (id int, cat int, emb embedding);
CREATE INDEX hnsw_d_cos ON hnsw_d USING instsim_hnsw (emb embedding_cosine_ops);
CREATE INDEX hnsw_d_l2 ON hnsw_d USING instsim_hnsw (emb embedding_l2_ops);
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM hnsw_d ORDER BY emb <=> '[1,0,0]' LIMIT 5) s;
INSERT INTO hnsw_d
SELECT i, i % 50, ARRAY[sin(i), cos(i * 1.3), sin(i * 0.21) * 2]::float8[]
FROM generate_series(1, 1500) i;

-- NULLs are not indexed; zero vectors are not in the cosine graph (their
-- cosine distance is NaN) but are in the L2 graph
INSERT INTO hnsw_d VALUES (-1, 0, NULL), (-2, 0, '[0,0,0]');
SELECT count(*) FROM (SELECT id FROM hnsw_d ORDER BY emb <=> '[1,2,3]' LIMIT 2000) s WHERE id < 0;
SET instsim.ef_search = 1000;
SELECT id FROM hnsw_d ORDER BY emb <-> '[0,0,0]' LIMIT 1;
-- a zero query under cosine has no neighbours
SELECT count(*) FROM (SELECT id FROM hnsw_d ORDER BY emb <=> '[0,0,0]' LIMIT 5) s;
RESET enable_seqscan;

-- a vector with other dimensions cannot enter the index
DO $$
BEGIN
	INSERT INTO hnsw_d VALUES (0, 0, '[1,2,3,4]');
EXCEPTION WHEN data_exception THEN
	RAISE NOTICE 'rejected with SQLSTATE %: %', SQLSTATE, SQLERRM;
END $$;
SET client_min_messages = notice;
DO $$
BEGIN
	INSERT INTO hnsw_d VALUES (0, 0, '[1,2,3,4]');
EXCEPTION WHEN data_exception THEN
	RAISE NOTICE 'rejected with SQLSTATE %: %', SQLSTATE, SQLERRM;
END $$;
SET client_min_messages = warning;

-- inserted rows are found exactly like the exact scan finds them
SELECT hnsw_mismatch('SELECT id FROM hnsw_d ORDER BY emb <=> ''[0.3,-0.2,0.9]'' LIMIT 10') AS cos,
       hnsw_mismatch('SELECT id FROM hnsw_d ORDER BY emb <-> ''[0.3,-0.2,0.9]'' LIMIT 10') AS l2;

-- filtered query: a plain scan sees only ef_search candidates, most filtered out
SET instsim.ef_search = 40;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_d WHERE cat = 7 ORDER BY emb <-> '[0.1,0.2,0.3]' LIMIT 10;
SELECT count(*) < 10 AS short FROM (SELECT id FROM hnsw_d WHERE cat = 7 ORDER BY emb <-> '[0.1,0.2,0.3]' LIMIT 10) s;
-- the iterative scan keeps going until LIMIT rows pass the filter
SET instsim.iterative_scan = on;
SELECT count(*) FROM (SELECT id FROM hnsw_d WHERE cat = 7 ORDER BY emb <-> '[0.1,0.2,0.3]' LIMIT 10) s;
SELECT count(*) FROM (SELECT id FROM hnsw_d WHERE cat = 7 ORDER BY emb <=> '[0.1,0.2,0.3]' LIMIT 30) s;
-- ... and returns the same rows as the exact filtered query
SET instsim.ef_search = 200;
SELECT hnsw_mismatch('SELECT id FROM hnsw_d WHERE cat = 7 ORDER BY emb <-> ''[0.1,0.2,0.3]'' LIMIT 10') AS filtered;
-- ... bounded by instsim.max_scan_tuples
SET instsim.ef_search = 40;
SET instsim.max_scan_tuples = 1;
SELECT count(*) < 10 AS bounded FROM (SELECT id FROM hnsw_d WHERE cat = 7 ORDER BY emb <-> '[0.1,0.2,0.3]' LIMIT 10) s;
RESET instsim.max_scan_tuples;
RESET instsim.iterative_scan;
RESET enable_seqscan;

-- VACUUM removes deleted rows and keeps the graph searchable
DELETE FROM hnsw_d WHERE id % 3 = 0;
VACUUM hnsw_d;
SET instsim.ef_search = 1000;
SELECT hnsw_mismatch('SELECT id FROM hnsw_d ORDER BY emb <=> ''[0.3,-0.2,0.9]'' LIMIT 10') AS cos_after_vacuum,
       hnsw_mismatch('SELECT id FROM hnsw_d ORDER BY emb <-> ''[-0.5,0.5,-1]'' LIMIT 20') AS l2_after_vacuum;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM hnsw_d ORDER BY emb <-> '[0,0,0]' LIMIT 2000) s;
SELECT count(*) FROM (SELECT id FROM hnsw_d ORDER BY emb <-> '[0,0,0]' LIMIT 2000) s WHERE id % 3 = 0;
RESET enable_seqscan;
-- freed space is reused by new rows
SELECT pg_relation_size('hnsw_d_l2') AS size_before \gset
INSERT INTO hnsw_d SELECT i, i % 50, ARRAY[cos(i), sin(i * 0.7), 1]::float8[] FROM generate_series(2001, 2400) i;
SELECT pg_relation_size('hnsw_d_l2') = :size_before AS reused;
SELECT hnsw_mismatch('SELECT id FROM hnsw_d ORDER BY emb <-> ''[1,0,1]'' LIMIT 10') AS after_refill;

-- deleting everything empties the graph; it grows again afterwards
DELETE FROM hnsw_d;
VACUUM hnsw_d;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM hnsw_d ORDER BY emb <-> '[0,0,0]' LIMIT 5) s;
INSERT INTO hnsw_d VALUES (1, 1, '[1,1,1]'), (2, 1, '[2,2,2]');
SELECT id FROM hnsw_d ORDER BY emb <-> '[2,2,1.9]' LIMIT 2;
RESET enable_seqscan;

-- REINDEX rebuilds from the table
INSERT INTO hnsw_d SELECT i, i % 50, ARRAY[sin(i), cos(i), 0.5]::float8[] FROM generate_series(3, 800) i;
REINDEX TABLE hnsw_d;
SELECT hnsw_mismatch('SELECT id FROM hnsw_d ORDER BY emb <-> ''[0.2,0.2,0.5]'' LIMIT 10') AS after_reindex;

DROP TABLE hnsw_d;
DROP FUNCTION hnsw_mismatch(text);
