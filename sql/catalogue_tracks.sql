-- The catalogue questions over a track table: instsim_weighted(_like),
-- instsim_more_like and instsim_explain, each against the exact answer of a
-- sequential scan, with filters (also through a view joining metadata) and
-- their errors.
CREATE TABLE cat_artist (id int PRIMARY KEY, name text);
INSERT INTO cat_artist SELECT i, 'artist ' || i FROM generate_series(0, 49) i;
CREATE TABLE cat_track (id int PRIMARY KEY, artist_id int REFERENCES cat_artist, year int,
	drums embedding(16), bass embedding(16));
-- deterministic pseudo-random vectors (random() after setseed is the same
-- sequence on every platform)
SELECT setseed(0.16);
INSERT INTO cat_track SELECT i, i % 50, 1960 + i % 60,
	(SELECT array_agg(random() - 0.5)::float8[]::embedding FROM generate_series(1, 16) j WHERE i > 0),
	(SELECT array_agg(random() - 0.5)::float8[]::embedding FROM generate_series(1, 16) j WHERE i > 0)
FROM generate_series(1, 4000) i;
-- rows without a bass embedding have no weighted distance
UPDATE cat_track SET bass = NULL WHERE id % 97 = 0 AND id > 2000;
CREATE INDEX cat_track_drums ON cat_track USING instsim_hnsw (drums embedding_cosine_ops);
CREATE INDEX cat_track_bass ON cat_track USING instsim_hnsw (bass embedding_cosine_ops);
ANALYZE cat_track;
CREATE VIEW cat_track_artist AS
	SELECT t.*, a.name AS artist FROM cat_track t JOIN cat_artist a ON a.id = t.artist_id;
CREATE FUNCTION cat_is_old(year int) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN year < 1980;
-- On a table this small the planner may prefer a sequential scan and sort
-- for a stream (exact, and cheaper here); the tests want the index scans
-- that serve the streams on a large table.
SET enable_seqscan = off;
SET jit = off;   -- which the disabled sequential scans' cost would trigger

-- The exact weighted top 10 for drums like track s and bass like track
-- s + 1000 (the seeds left out), by sequential scan.
CREATE FUNCTION cat_exact_weighted(s int, w1 float8, w2 float8, cond text DEFAULT 'true')
	RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE r int[];
BEGIN
	EXECUTE format($q$SELECT array_agg(id) FROM (
		SELECT id FROM cat_track_artist t
		WHERE id NOT IN ($1, $1 + 1000) AND %s
		ORDER BY $2 * (t.drums <=> (SELECT drums FROM cat_track WHERE id = $1))
		       + $3 * (t.bass <=> (SELECT bass FROM cat_track WHERE id = $1 + 1000)), id
		LIMIT 10) e$q$, cond) INTO r USING s, w1, w2;
	RETURN r;
END $$;
CREATE FUNCTION cat_recall(got int[], want int[]) RETURNS float8 LANGUAGE sql IMMUTABLE
	RETURN (SELECT count(*) FROM unnest(got) g WHERE g = ANY (want))::float8 / cardinality(want);

-- ---- weighted: recall@10 against the exact weighted scan -----------------
SELECT avg(r) >= 0.99 AS recall_ok FROM (
	SELECT cat_recall(ARRAY(SELECT key FROM instsim_weighted_like('cat_track', '{drums,bass}',
	                                  ARRAY[s, s + 1000], '{1, 0.5}', 10)),
	                  cat_exact_weighted(s, 1, 0.5)) AS r
	FROM generate_series(1, 391, 10) s) q;
-- the result: 10 rows, nearest first, distance = the weighted sum of distances
SELECT count(*) AS n,
	bool_and(abs(distance - (distances[1] + 0.5 * distances[2])) < 1e-12) AS weighted_sum,
	bool_and(abs(distances[1] - (t.drums <=> (SELECT drums FROM cat_track WHERE id = 5))) < 1e-12
	     AND abs(distances[2] - (t.bass <=> (SELECT bass FROM cat_track WHERE id = 1005))) < 1e-12) AS exact_distances,
	bool_and(key NOT IN (5, 1005)) AS seeds_left_out
FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[5, 1005], '{1, 0.5}') w
JOIN cat_track t ON t.id = w.key;
SELECT array_agg(distance ORDER BY ord) = array_agg(distance ORDER BY distance) AS sorted
FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[5, 1005], '{1, 0.5}') WITH ORDINALITY w(key, distance, distances, ord);
-- the query-vector form gives the same rows (without leaving seeds out)
SELECT array_agg(key ORDER BY distance) = cat_exact_weighted(7, 0.2, 1) AS vectors_form
FROM instsim_weighted('cat_track', '{drums,bass}',
	ARRAY[(SELECT drums FROM cat_track WHERE id = 7), (SELECT bass FROM cat_track WHERE id = 1007)],
	'{0.2, 1}', NULL::int, 10, filter => 'id NOT IN (7, 1007)');
-- a weight of 0 reads no stream for that column, but still reports its distance
SELECT array_agg(key ORDER BY distance) = cat_exact_weighted(9, 1, 0) AS zero_weight,
	bool_and(distances[2] IS NOT NULL OR key % 97 = 0) AS distances_reported
FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[9, 1009], '{1, 0}');
-- a row with no bass embedding is never ranked by a weighted bass
SELECT count(*) AS null_bass_ranked FROM instsim_weighted_like('cat_track', '{drums,bass}',
	ARRAY[2037, 1000], '{1, 0.001}', 50) WHERE key % 97 = 0 AND key > 2000;
-- usable in joins
SELECT count(*) AS joined FROM cat_track t
CROSS JOIN LATERAL instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[t.id, t.id + 1000], '{1, 1}', 3) w
WHERE t.id <= 5;

-- ---- filters: evaluated inside the index-ordered stream ------------------
SELECT avg(r) >= 0.99 AS filtered_recall_ok FROM (
	SELECT cat_recall(ARRAY(SELECT key FROM instsim_weighted_like('cat_track', '{drums,bass}',
	                                  ARRAY[s, s + 1000], '{1, 0.5}', 10, filter => 'year >= 2000')),
	                  cat_exact_weighted(s, 1, 0.5, 'year >= 2000')) AS r
	FROM generate_series(1, 391, 20) s) q;
-- a selective filter (1 row in 60): the iterative scans keep going
SELECT cat_recall(ARRAY(SELECT key FROM instsim_weighted_like('cat_track', '{drums,bass}',
                                  ARRAY[11, 1011], '{1, 0.5}', 10, filter => 'year = 1999')),
                  cat_exact_weighted(11, 1, 0.5, 'year = 1999')) >= 0.9 AS selective_recall_ok;
-- metadata from a view that joins another table (the view has no primary key)
SELECT cat_recall(ARRAY(SELECT key FROM instsim_weighted_like('cat_track_artist', '{drums,bass}',
                                  ARRAY[13, 1013], '{1, 0.5}', 10, key_column => 'id',
                                  filter => $$artist NOT IN ('artist 1', 'artist 2', 'artist 3')$$)),
                  cat_exact_weighted(13, 1, 0.5, $$artist NOT IN ('artist 1', 'artist 2', 'artist 3')$$)) >= 0.9
	AS view_recall_ok;
-- the filter's names resolve with search_path = pg_catalog, pg_temp: the
-- caller's own functions are named by schema
SELECT count(*) AS old_only FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 1001],
	'{1, 1}', 10, filter => 'public.cat_is_old(year)') w JOIN cat_track t ON t.id = w.key
WHERE t.year < 1980;
-- the filter runs with the caller's rights: a role that may read the tracks
-- but not the artists cannot filter by artist
CREATE ROLE regress_instsim_cat;
GRANT SELECT ON cat_track TO regress_instsim_cat;
SET ROLE regress_instsim_cat;
SELECT count(*) AS as_caller FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 1001],
	'{1, 1}', 10, filter => 'year > 1970');
\set VERBOSITY sqlstate
SELECT count(*) AS as_caller FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 1001],
	'{1, 1}', 10, filter => 'artist_id IN (SELECT id FROM public.cat_artist)');
\set VERBOSITY default
RESET ROLE;
-- a stream cut short by instsim.max_scan_tuples says so
SET instsim.max_scan_tuples = 30;
SELECT count(*) <= 10 AS some_rows FROM instsim_weighted_like('cat_track', '{drums,bass}',
	ARRAY[11, 1011], '{1, 0.5}', 10, filter => 'year = 1999');
RESET instsim.max_scan_tuples;
-- other metrics; no l2 index, so the streams are sequential scans and sorts (exact)
SELECT array_agg(key ORDER BY distance) = (SELECT array_agg(id) FROM (SELECT id FROM cat_track
	WHERE id NOT IN (3, 1003)
	ORDER BY (drums <-> (SELECT drums FROM cat_track WHERE id = 3))
	       + 2 * (bass <-> (SELECT bass FROM cat_track WHERE id = 1003)), id LIMIT 10) e) AS l2_exact
FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[3, 1003], '{1, 2}', metric => 'l2');

-- ---- more like these ------------------------------------------------------
CREATE FUNCTION cat_exact_more(seeds int[], mode text, cond text DEFAULT 'true') RETURNS int[]
	LANGUAGE plpgsql AS $$
DECLARE r int[];
BEGIN
	EXECUTE format($q$SELECT array_agg(id) FROM (
		SELECT id FROM cat_track_artist t WHERE id <> ALL ($1) AND drums IS NOT NULL AND %s
		ORDER BY CASE WHEN $2 = 'centroid' THEN
			t.drums <=> (SELECT l2_normalize(avg(l2_normalize(drums))) FROM cat_track WHERE id = ANY ($1))
			ELSE (SELECT min(t.drums <=> s.drums) FROM cat_track s WHERE s.id = ANY ($1)) END, id
		LIMIT 10) e$q$, cond) INTO r USING seeds, mode;
	RETURN r;
END $$;
SELECT mode, avg(r) >= 0.99 AS recall_ok FROM (
	SELECT mode, cat_recall(ARRAY(SELECT key FROM instsim_more_like('cat_track', 'drums',
	                                  ARRAY[s, s + 7, s + 300, s + 2000], 10, mode)),
	                        cat_exact_more(ARRAY[s, s + 7, s + 300, s + 2000], mode)) AS r
	FROM generate_series(1, 391, 10) s, unnest(ARRAY['centroid', 'best']) mode) q
GROUP BY mode ORDER BY mode;
-- seeds left out; nearest_seed is the seed nearest to the row, distance as the mode says
SELECT mode, count(*) AS n, bool_and(m.key NOT IN (20, 40, 60)) AS seeds_left_out,
	bool_and(m.nearest_seed = (SELECT s.id FROM cat_track s WHERE s.id IN (20, 40, 60)
	                           ORDER BY t.drums <=> s.drums, s.id LIMIT 1)) AS nearest_seed_ok,
	bool_and(abs(m.distance - CASE WHEN mode = 'best' THEN t.drums <=> (SELECT drums FROM cat_track WHERE id = m.nearest_seed)
	         ELSE t.drums <=> (SELECT l2_normalize(avg(l2_normalize(drums))) FROM cat_track WHERE id IN (20, 40, 60)) END) < 1e-9)
	AS distance_ok
FROM unnest(ARRAY['centroid', 'best']) mode
CROSS JOIN LATERAL instsim_more_like('cat_track', 'drums', ARRAY[20, 40, 60], 10, mode) m
JOIN cat_track t ON t.id = m.key
GROUP BY mode ORDER BY mode;
SELECT cat_recall(ARRAY(SELECT key FROM instsim_more_like('cat_track_artist', 'drums', ARRAY[8, 9],
                            10, 'best', filter => $$artist = 'artist 4'$$, key_column => 'id')),
                  cat_exact_more(ARRAY[8, 9], 'best', $$artist = 'artist 4'$$)) >= 0.9 AS filtered_best_ok;
SELECT cat_recall(ARRAY(SELECT key FROM instsim_more_like('cat_track', 'drums', ARRAY[8, 9],
                            10, filter => 'year BETWEEN 1990 AND 1995')),
                  cat_exact_more(ARRAY[8, 9], 'centroid', 'year BETWEEN 1990 AND 1995')) >= 0.9 AS filtered_centroid_ok;
-- a k beyond the table: every row with an embedding (memory grows with the rows, not with k)
SELECT count(*) AS all_rows FROM instsim_more_like('cat_track', 'bass', ARRAY[1], 2000000000);
-- one seed: the centroid is the seed itself, as instsim_like
SELECT array_agg(key ORDER BY distance, key) = (SELECT array_agg(key ORDER BY distance, key)
	FROM instsim_like('cat_track', 'drums', 77, 5)) AS like_one_seed
FROM instsim_more_like('cat_track', 'drums', ARRAY[77], 5);

-- ---- explain a match --------------------------------------------------------
SELECT * FROM instsim_explain('cat_track', 1, 2) e
WHERE abs(e.distance - (SELECT CASE e.emb_column WHEN 'drums' THEN x.drums <=> y.drums ELSE x.bass <=> y.bass END
                        FROM cat_track x, cat_track y WHERE x.id = 1 AND y.id = 2)) > 1e-12;
SELECT emb_column, distance IS NULL AS no_distance FROM instsim_explain('cat_track', 2037, 2);
SELECT emb_column FROM instsim_explain('cat_track', 1, 2, '{bass}');
SELECT emb_column, round(distance::numeric, 6) AS l2 FROM instsim_explain('cat_track', 1, 1, metric => 'l2');

-- ---- errors --------------------------------------------------------------------
\set VERBOSITY sqlstate
SELECT * FROM instsim_weighted_like('cat_track', '{drums,nope}', ARRAY[1, 2], '{1, 1}');
SELECT * FROM instsim_weighted_like('cat_track', '{drums,year}', ARRAY[1, 2], '{1, 1}');
SELECT * FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 2], '{1, 1}', 0);
SELECT * FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 2], '{1, 1, 1}');
SELECT * FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 2, 3], '{1, 1}');
SELECT * FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 2], '{1, -1}');
SELECT * FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 2], '{0, 0}');
SELECT * FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 2], '{1, NaN}');
SELECT * FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, NULL], '{1, 1}');
SELECT * FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 999999], '{1, 1}');
SELECT * FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 2037], '{1, 1}');  -- no bass
SELECT * FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 2]::bigint[], '{1, 1}');
SELECT * FROM instsim_weighted_like('cat_track_artist', '{drums,bass}', ARRAY[1, 2], '{1, 1}');
SELECT * FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 2], '{1, 1}', key_column => 'nope');
SELECT * FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 2], '{1, 1}', metric => 'manhattan');
SELECT * FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 2], '{1, 1}', filter => 'year >');
SELECT * FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 2], '{1, 1}', filter => 'year');
SELECT * FROM instsim_weighted_like('cat_track', '{drums,bass}', ARRAY[1, 2], '{1, 1}', filter => 'cat_is_old(year)');
SELECT * FROM instsim_weighted('cat_track', '{drums,bass}', ARRAY['[1,2]'::embedding, NULL], '{1, 1}', NULL::int);
SELECT * FROM instsim_weighted('cat_track', '{drums,bass}', ARRAY['[1,2]'::embedding, '[1,2]'], '{1, 1}', NULL::int);
SELECT * FROM instsim_weighted('cat_track', '{drums}', ARRAY[(SELECT drums FROM cat_track WHERE id = 1)], '{1}', NULL::text);
SELECT * FROM instsim_more_like('cat_track', 'drums', ARRAY[1, 2], mode => 'worst');
SELECT * FROM instsim_more_like('cat_track', 'drums', ARRAY[]::int[]);
SELECT * FROM instsim_more_like('cat_track', 'drums', ARRAY[1, NULL]);
SELECT * FROM instsim_more_like('cat_track', 'bass', ARRAY[1, 2037]);
SELECT * FROM instsim_more_like('cat_track', 'drums', ARRAY['1']);
SELECT * FROM instsim_more_like('cat_track', 'drums', ARRAY[1], -1);
SELECT * FROM instsim_explain('cat_track', 1, 999999);
SELECT * FROM instsim_explain('cat_track', 1, 2, '{drums,year}');
SELECT * FROM instsim_explain('cat_track', 1::bigint, 2::bigint);
SELECT * FROM instsim_explain('cat_track', 1, NULL);
SELECT * FROM instsim_explain('cat_track_artist', 1, 2, key_column => 'artist_id');
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT * FROM instsim_weighted_like('cat_track_artist', '{drums,bass}', ARRAY[1, 2], '{1, 1}');
\set SHOW_CONTEXT errors

DROP VIEW cat_track_artist;
DROP TABLE cat_track, cat_artist;
DROP ROLE regress_instsim_cat;
DROP FUNCTION cat_is_old(int), cat_exact_weighted(int, float8, float8, text), cat_recall(int[], int[]),
	cat_exact_more(int[], text, text);
