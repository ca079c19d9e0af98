-- Every row stays reachable: HNSW's pruning can drop an element's last
-- incoming link; the build and VACUUM relink such elements.  The data (points
-- on a curve, m = 8) loses ~0.3% of its rows without that repair.  An
-- exhaustive iterative scan must return every row.
CREATE EXTENSION IF NOT EXISTS instsim;
SET client_min_messages = warning;

CREATE FUNCTION hnsw_reached(op text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	SET LOCAL enable_seqscan = off;
	SET LOCAL instsim.ef_search = 1000;
	SET LOCAL instsim.iterative_scan = on;
	SET LOCAL instsim.max_scan_tuples = 1000000;
	EXECUTE format('SELECT count(DISTINCT id) FROM (SELECT id FROM hnsw_r ORDER BY emb %s '
		'''[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]'' LIMIT 100000) s', op) INTO n;
	RETURN n;
END $$;

CREATE TABLE hnsw_r (id int, emb embedding(16));
INSERT INTO hnsw_r SELECT i, (SELECT array_agg(sin(i * k + k)) FROM generate_series(1, 16) k)::float8[]
FROM generate_series(1, 5000) i;

-- the in-memory build
CREATE INDEX hnsw_r_l2 ON hnsw_r USING instsim_hnsw (emb embedding_l2_ops) WITH (m = 8);
CREATE INDEX hnsw_r_cos ON hnsw_r USING instsim_hnsw (emb embedding_cosine_ops) WITH (m = 8);
SELECT hnsw_reached('<->') AS l2, hnsw_reached('<=>') AS cos;

-- the on-disk insert path, then VACUUM (which relinks what the inserts cut off)
DROP INDEX hnsw_r_l2, hnsw_r_cos;
TRUNCATE hnsw_r;
CREATE INDEX hnsw_r_l2 ON hnsw_r USING instsim_hnsw (emb embedding_l2_ops) WITH (m = 8);
INSERT INTO hnsw_r SELECT i, (SELECT array_agg(sin(i * k + k)) FROM generate_series(1, 16) k)::float8[]
FROM generate_series(1, 5000) i;
VACUUM hnsw_r;
SELECT hnsw_reached('<->') AS l2;
DELETE FROM hnsw_r WHERE id % 3 = 0;
VACUUM hnsw_r;
SELECT hnsw_reached('<->') AS l2, (SELECT count(*) FROM hnsw_r) AS rows;

DROP TABLE hnsw_r;
DROP FUNCTION hnsw_reached(text);
