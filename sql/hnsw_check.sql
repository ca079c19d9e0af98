-- instsim_hnsw_check(index): every live row reachable from the entry point
-- on level 0, and the entry point reachable from every row.
CREATE EXTENSION IF NOT EXISTS instsim;
SET client_min_messages = warning;

CREATE TABLE hnsw_c (id int PRIMARY KEY, emb embedding(64));
CREATE INDEX hnsw_c_l2 ON hnsw_c USING instsim_hnsw (emb embedding_l2_ops) WITH (m = 4);

-- an empty index
SELECT * FROM instsim_hnsw_check('hnsw_c_l2');

-- the in-memory build (points on a curve: pruning cuts some off unrepaired)
INSERT INTO hnsw_c SELECT i, (SELECT array_agg(sin(i * k + k)) FROM generate_series(1, 64) k)::float8[]
FROM generate_series(1, 3000) i;
REINDEX INDEX hnsw_c_l2;
SELECT live, reachable, unreachable, stranded, unreachable_tids FROM instsim_hnsw_check('hnsw_c_l2');

-- a build that spills past maintenance_work_mem (the NOTICE), then goes on
-- with on-disk inserts
SET maintenance_work_mem = '1MB';
INSERT INTO hnsw_c SELECT i, (SELECT array_agg(cos(i * k)) FROM generate_series(1, 64) k)::float8[]
FROM generate_series(3001, 6000) i;
SET client_min_messages = notice;
REINDEX INDEX hnsw_c_l2;
SET client_min_messages = warning;
RESET maintenance_work_mem;
SELECT live, reachable, unreachable, stranded FROM instsim_hnsw_check('hnsw_c_l2');

-- deletions: flagged elements are not live; VACUUM frees them and repairs
DELETE FROM hnsw_c WHERE id % 4 = 0;
VACUUM hnsw_c;
SELECT live, reachable, unreachable, stranded FROM instsim_hnsw_check('hnsw_c_l2');
SELECT count(*) FROM hnsw_c;

-- NULLs and cosine's zero vectors are not indexed, so not counted
CREATE INDEX hnsw_c_cos ON hnsw_c USING instsim_hnsw (emb embedding_cosine_ops);
INSERT INTO hnsw_c VALUES (-1, NULL), (-2, array_fill(0, ARRAY[64])::float8[]);
SELECT live, unreachable, stranded FROM instsim_hnsw_check('hnsw_c_cos');

-- only instsim_hnsw indexes
SELECT * FROM instsim_hnsw_check('hnsw_c');
SELECT * FROM instsim_hnsw_check('hnsw_c_pkey');
SELECT * FROM instsim_hnsw_check(NULL);

-- superuser only by default
CREATE ROLE hnsw_c_user;
SET ROLE hnsw_c_user;
SELECT * FROM instsim_hnsw_check('hnsw_c_l2');
RESET ROLE;
DROP ROLE hnsw_c_user;

DROP TABLE hnsw_c;

-- vectors at the ends of float4's range keep their direction in a cosine
-- index (their norm would overflow or underflow in float)
CREATE TABLE extreme (id int, e embedding(2));
INSERT INTO extreme VALUES (1, '[3e38,3e38]'), (2, '[1e-30,1e-30]'), (3, '[1,0]'), (4, '[0,1]');
CREATE INDEX extreme_cos ON extreme USING instsim_hnsw (e embedding_cosine_ops);
SET enable_seqscan = off;
SELECT id FROM extreme ORDER BY e <=> '[1,1]', id LIMIT 4;
RESET enable_seqscan;
SELECT live, reachable, unreachable FROM instsim_hnsw_check('extreme_cos');
DROP TABLE extreme;

-- the repair's memory is capped by instsim.max_repair_memory, with a WARNING
CREATE TABLE capped (id int, e embedding(2));
INSERT INTO capped SELECT i, ARRAY[cos(i), sin(i)] FROM generate_series(1, 10000) i;
CREATE INDEX capped_l2 ON capped USING instsim_hnsw (e);
SET instsim.max_repair_memory = '1MB';
VACUUM capped;
RESET instsim.max_repair_memory;
VACUUM capped;
DROP TABLE capped;
