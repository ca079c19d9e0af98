-- instsim_hnsw: creation, opclasses, reloptions, GUCs, plans, and results
-- equal to the exact scan on small data.
CREATE EXTENSION IF NOT EXISTS instsim;
SET client_min_messages = warning;

CREATE TABLE hnsw_t (id int PRIMARY KEY, emb embedding(4));
INSERT INTO hnsw_t
SELECT i, ARRAY[sin(i), cos(i * 1.7), sin(i * 0.3) + cos(i * 0.05), ((i * 37) % 101) / 101.0]::float8[]
FROM generate_series(1, 500) i;

-- Number of ids in the index's answer that the exact answer lacks (0 = same).
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

-- one index per opclass
CREATE INDEX hnsw_t_l2 ON hnsw_t USING instsim_hnsw (emb embedding_l2_ops);
CREATE INDEX hnsw_t_cos ON hnsw_t USING instsim_hnsw (emb embedding_cosine_ops);
CREATE INDEX hnsw_t_ip ON hnsw_t USING instsim_hnsw (emb embedding_ip_ops) WITH (m = 8, ef_construction = 32);
SELECT amvalidate(c.oid), c.opcname, c.opcdefault FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE a.amname = 'instsim_hnsw' ORDER BY c.opcname;
SELECT relname, reloptions FROM pg_class WHERE relname LIKE 'hnsw_t_%' ORDER BY relname;

SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_t ORDER BY emb <-> '[0.5,0.5,0.5,0.5]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_t ORDER BY emb <=> '[0.5,0.5,0.5,0.5]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_t ORDER BY emb <#> '[0.5,0.5,0.5,0.5]' LIMIT 5;
-- a WHERE clause alone cannot use the index
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_t WHERE emb = '[1,1,1,1]';
RESET enable_seqscan;

-- results equal the exact scan when ef_search covers the table
SET instsim.ef_search = 500;
SELECT hnsw_mismatch('SELECT id FROM hnsw_t ORDER BY emb <-> ''[0.5,0.5,0.5,0.5]'' LIMIT 10') AS l2,
       hnsw_mismatch('SELECT id FROM hnsw_t ORDER BY emb <=> ''[0.5,-0.5,1,0.2]'' LIMIT 10') AS cosine,
       hnsw_mismatch('SELECT id FROM hnsw_t ORDER BY emb <#> ''[-1,0.25,0.5,2]'' LIMIT 10') AS ip,
       hnsw_mismatch('SELECT id FROM hnsw_t ORDER BY emb <-> ''[3,3,3,3]'' LIMIT 50') AS l2_far;
-- and at the default ef_search on this easy data
RESET instsim.ef_search;
SELECT hnsw_mismatch('SELECT id FROM hnsw_t ORDER BY emb <-> ''[0.1,0.2,0.3,0.4]'' LIMIT 5') AS l2_default;
-- a plain scan returns at most ef_search rows
SET instsim.ef_search = 7;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM hnsw_t ORDER BY emb <-> '[0,0,0,0]' LIMIT 100) s;
RESET enable_seqscan;
RESET instsim.ef_search;

-- the planner: index for a small LIMIT on a bigger table, seq scan without LIMIT
CREATE TABLE hnsw_big (id int, emb embedding(4));
INSERT INTO hnsw_big SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.1), cos(i * 0.01)]::float8[]
FROM generate_series(1, 20000) i;
CREATE INDEX ON hnsw_big USING instsim_hnsw (emb embedding_l2_ops);
ANALYZE hnsw_big;
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_big ORDER BY emb <-> '[0,0,0,0]' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_big ORDER BY emb <-> '[0,0,0,0]';
DROP TABLE hnsw_big;

-- reloptions are validated
CREATE INDEX ON hnsw_t USING instsim_hnsw (emb) WITH (m = 1);
CREATE INDEX ON hnsw_t USING instsim_hnsw (emb) WITH (m = 101);
CREATE INDEX ON hnsw_t USING instsim_hnsw (emb) WITH (ef_construction = 3);
CREATE INDEX ON hnsw_t USING instsim_hnsw (emb) WITH (ef_construction = 1001);
CREATE INDEX ON hnsw_t USING instsim_hnsw (emb) WITH (m = 40, ef_construction = 64);
CREATE INDEX ON hnsw_t USING instsim_hnsw (emb) WITH (lists = 3);
-- only embedding opclasses, one column
CREATE INDEX ON hnsw_t USING instsim_hnsw (id);
CREATE INDEX ON hnsw_t USING instsim_hnsw (emb, emb);

-- GUCs
SHOW instsim.ef_search;
SHOW instsim.iterative_scan;
SHOW instsim.max_scan_tuples;
SET instsim.ef_search = 0;
SET instsim.ef_search = 10001;
SET instsim.iterative_scan = maybe;
SET instsim.max_scan_tuples = 0;
SET instsim.no_such_setting = 1;

-- the query must have the index's dimensions
SET enable_seqscan = off;
SELECT id FROM hnsw_t ORDER BY emb <-> '[1,2,3]' LIMIT 1;
-- distance to NULL folds to a constant: no ordering, no index needed
SELECT count(*) FROM (SELECT id FROM hnsw_t ORDER BY emb <-> NULL LIMIT 3) s;
RESET enable_seqscan;

-- REINDEX gives an equivalent index
REINDEX INDEX hnsw_t_cos;
SET instsim.ef_search = 500;
SELECT hnsw_mismatch('SELECT id FROM hnsw_t ORDER BY emb <=> ''[0.5,-0.5,1,0.2]'' LIMIT 10') AS after_reindex;

DROP TABLE hnsw_t;
DROP FUNCTION hnsw_mismatch(text);
