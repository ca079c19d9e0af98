-- instsim_like(): the rows nearest to one row of the same table, as the
-- subquery form gives them, by each metric and with the index.
CREATE TABLE likes (id int PRIMARY KEY, name text, e embedding(8));
INSERT INTO likes SELECT i, 'n' || i,
	(SELECT array_agg(sin(i * 0.37 * j + j) + 0.3 * cos(i * 1.3 + j))::float8[]::embedding FROM generate_series(1, 8) j)
FROM generate_series(1, 2000) i;
SELECT array_agg(key ORDER BY distance, key) = (SELECT array_agg(id) FROM
	(SELECT id FROM likes WHERE id <> 77 ORDER BY e <=> (SELECT e FROM likes WHERE id = 77), id LIMIT 5) s) AS same_as_subquery
FROM instsim_like('likes', 'e', 77, 5);
SELECT array_agg(key ORDER BY distance, key) = (SELECT array_agg(id) FROM
	(SELECT id FROM likes WHERE id <> 77 ORDER BY e <-> (SELECT e FROM likes WHERE id = 77), id LIMIT 5) s) AS same_l2
FROM instsim_like('likes', 'e', 77, 5, metric => 'l2');
SELECT array_agg(key ORDER BY distance, key) = (SELECT array_agg(name) FROM
	(SELECT name FROM likes WHERE name <> 'n77' ORDER BY e <#> (SELECT e FROM likes WHERE id = 77), name LIMIT 5) s) AS same_ip_by_name
FROM instsim_like('likes', 'e', 'n77'::text, 5, key_column => 'name', metric => 'ip');
-- with an index, the same rows
CREATE INDEX ON likes USING instsim_hnsw (e embedding_cosine_ops);
SET enable_seqscan = off;
SET instsim.ef_search = 200;
SELECT array_agg(key ORDER BY distance, key) = (SELECT array_agg(id) FROM
	(SELECT id FROM likes WHERE id <> 77 ORDER BY e <=> (SELECT e FROM likes WHERE id = 77), id LIMIT 5) s) AS same_with_index
FROM instsim_like('likes', 'e', 77, 5);
RESET enable_seqscan;
RESET instsim.ef_search;
SELECT count(*) FROM instsim_like('likes', 'e', 1, 3) WHERE key = 1;   -- the row itself is left out
\set VERBOSITY sqlstate
SELECT * FROM instsim_like('likes', 'e', 999999);
SELECT * FROM instsim_like('likes', 'e', 1, 0);
SELECT * FROM instsim_like('likes', 'e', 1, metric => 'manhattan');
SELECT * FROM instsim_like('likes', 'e', 1, key_column => 'nope');
SELECT * FROM instsim_like('likes', 'e', 1::bigint);                  -- id is integer
UPDATE likes SET name = 'dup' WHERE id IN (1, 2);
SELECT * FROM instsim_like('likes', 'e', 'dup'::text, key_column => 'name');
\set VERBOSITY default
DROP TABLE likes;
