-- Moment search over a segment table (instsim_moments) and the moment-by-
-- moment explanation of a match (instsim_explain_moments), against the
-- exact answers of sequential scans.
CREATE TABLE cat_song (id int PRIMARY KEY, genre text);
INSERT INTO cat_song SELECT i, (ARRAY['jazz', 'rock', 'funk', 'pop'])[1 + i % 4] FROM generate_series(1, 400) i;
-- 25 segments per track, scattered around a per-track centre, as the
-- segments of one song are (deterministic: random() after setseed)
SELECT setseed(0.25);
CREATE TABLE cat_centre AS
	SELECT i AS id, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 16) j WHERE i > 0) AS c
	FROM generate_series(1, 400) i;
CREATE TABLE cat_seg (track_id int REFERENCES cat_song, start_s real, drums embedding(16),
	PRIMARY KEY (track_id, start_s));
INSERT INTO cat_seg
SELECT c.id, s * 1.5, (SELECT array_agg(c.c[j] + 0.25 * (random() - 0.5))::float8[]::embedding
                       FROM generate_series(1, 16) j WHERE s >= 0)
FROM cat_centre c, generate_series(0, 24) s;
UPDATE cat_seg SET drums = NULL WHERE track_id = 400 AND start_s > 3;   -- silent drums
CREATE INDEX cat_seg_drums ON cat_seg USING instsim_hnsw (drums embedding_cosine_ops);
ANALYZE cat_seg;
CREATE VIEW cat_seg_song AS SELECT s.*, g.genre FROM cat_seg s JOIN cat_song g ON g.id = s.track_id;
SET enable_seqscan = off;   -- index scans, as on a large table
SET jit = off;              -- which the disabled sequential scans' cost would trigger

-- The exact answer: the k nearest segments, at most per_track per track.
CREATE FUNCTION cat_exact_moments(q embedding, per_track int, cond text DEFAULT 'true')
	RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE r text[];
BEGIN
	EXECUTE format($q$SELECT array_agg(track_id || '@' || start_s) FROM (
		SELECT track_id, start_s, d FROM (
			SELECT track_id, start_s, drums <=> $1 AS d,
			       row_number() OVER (PARTITION BY track_id ORDER BY drums <=> $1, start_s) AS rank
			FROM cat_seg_song WHERE drums IS NOT NULL AND %s) x
		WHERE rank <= $2 ORDER BY d, track_id LIMIT 10) y$q$, cond) INTO r USING q, per_track;
	RETURN r;
END $$;
CREATE FUNCTION cat_recall(got text[], want text[]) RETURNS float8 LANGUAGE sql IMMUTABLE
	RETURN (SELECT count(*) FROM unnest(got) g WHERE g = ANY (want))::float8 / cardinality(want);

-- ---- recall@10 against the exact scan, queries from the catalogue ----------
SELECT per_track, avg(r) >= 0.99 AS recall_ok FROM (
	SELECT per_track, cat_recall(
		ARRAY(SELECT m.track || '@' || m.start_s FROM instsim_moments('cat_seg', 'drums',
		      (SELECT drums FROM cat_seg WHERE track_id = t AND start_s = 6), NULL::int, 10, per_track) m),
		cat_exact_moments((SELECT drums FROM cat_seg WHERE track_id = t AND start_s = 6), per_track)) AS r
	FROM generate_series(1, 400, 10) t, unnest(ARRAY[1, 3]) per_track) q
GROUP BY per_track ORDER BY per_track;
-- at most per_track segments of a track; the query's own track comes first
SELECT per_track, count(*) AS hits, max(n) AS most_per_track, min(first_track) AS first_track
FROM (SELECT per_track, m.track, count(*) OVER (PARTITION BY per_track, m.track) AS n,
             first_value(m.track) OVER (PARTITION BY per_track ORDER BY m.distance) AS first_track
      FROM unnest(ARRAY[1, 3]) per_track
      CROSS JOIN LATERAL instsim_moments('cat_seg', 'drums',
          (SELECT drums FROM cat_seg WHERE track_id = 17 AND start_s = 6), NULL::int, 12, per_track) m) q
GROUP BY per_track ORDER BY per_track;
SELECT array_agg(distance ORDER BY ord) = array_agg(distance ORDER BY distance) AS sorted,
	bool_and(abs(distance - (s.drums <=> (SELECT drums FROM cat_seg WHERE track_id = 17 AND start_s = 6))) < 1e-12) AS exact
FROM instsim_moments('cat_seg', 'drums', (SELECT drums FROM cat_seg WHERE track_id = 17 AND start_s = 6),
	NULL::int, 10, 2) WITH ORDINALITY m(track, start_s, distance, ord)
JOIN cat_seg s ON s.track_id = m.track AND s.start_s = m.start_s;
-- a query from outside the catalogue: 3 s of some audio
SELECT cat_recall(ARRAY(SELECT m.track || '@' || m.start_s FROM instsim_moments('cat_seg', 'drums',
	'[0.1,-0.2,0.3,0.1,0,0.2,-0.1,0.4,0.1,-0.3,0.2,0.1,0,-0.2,0.3,0.1]', NULL::int) m),
	cat_exact_moments('[0.1,-0.2,0.3,0.1,0,0.2,-0.1,0.4,0.1,-0.3,0.2,0.1,0,-0.2,0.3,0.1]', 1)) >= 0.9 AS outside_ok;
-- segments without an embedding are never found
SELECT count(*) AS silent_found FROM instsim_moments('cat_seg', 'drums',
	(SELECT drums FROM cat_seg WHERE track_id = 400 AND start_s = 0), NULL::int, 50, 25) m
WHERE m.track = 400 AND m.start_s > 3;

-- ---- filters, on the segment table or on metadata through a view -----------
SELECT count(*) AS other_tracks FROM instsim_moments('cat_seg', 'drums',
	(SELECT drums FROM cat_seg WHERE track_id = 17 AND start_s = 6), NULL::int, 10,
	filter => 'track_id <> 17') WHERE track = 17;
SELECT avg(r) >= 0.95 AS filtered_recall_ok FROM (
	SELECT cat_recall(
		ARRAY(SELECT m.track || '@' || m.start_s FROM instsim_moments('cat_seg_song', 'drums',
		      (SELECT drums FROM cat_seg WHERE track_id = t AND start_s = 6), NULL::int, 10,
		      filter => $$genre = 'funk' AND start_s < 20$$, track_column => 'track_id') m),
		cat_exact_moments((SELECT drums FROM cat_seg WHERE track_id = t AND start_s = 6), 1,
		                  $$genre = 'funk' AND start_s < 20$$)) AS r
	FROM generate_series(1, 400, 20) t) q;
SET instsim.max_scan_tuples = 20;
SELECT count(*) < 10 AS fewer FROM instsim_moments('cat_seg', 'drums',
	(SELECT drums FROM cat_seg WHERE track_id = 17 AND start_s = 6), NULL::int, 10, filter => 'start_s = 1.5');
RESET instsim.max_scan_tuples;

-- ---- explain a match, moment by moment --------------------------------------
-- every segment of track 3 with its nearest segment of track 4, as a
-- brute-force scan finds it
SELECT count(*) AS segments_of_a,
	bool_and(abs(e.distance - (SELECT min(x.drums <=> y.drums) FROM cat_seg x, cat_seg y
	                           WHERE x.track_id = 3 AND x.start_s = e.a_start AND y.track_id = 4)) < 1e-12
	         AND abs(e.distance - (SELECT x.drums <=> y.drums FROM cat_seg x, cat_seg y WHERE x.track_id = 3
	                               AND x.start_s = e.a_start AND y.track_id = 4 AND y.start_s = e.b_start)) < 1e-12)
	AS nearest_ok
FROM instsim_explain_moments('cat_seg', 3, 4) e;
SELECT emb_column, a_start, b_start, round(distance::numeric, 6) AS distance
FROM instsim_explain_moments('cat_seg', 5, 5, '{drums}') ORDER BY a_start LIMIT 3;
SELECT count(*) AS silent_left_out FROM instsim_explain_moments('cat_seg', 400, 5) WHERE a_start > 3;

-- ---- errors --------------------------------------------------------------------
CREATE TABLE cat_seg_nokey AS SELECT * FROM cat_seg WHERE track_id <= 3;
CREATE TABLE cat_seg_notime (track_id int PRIMARY KEY, drums embedding(16));
\set VERBOSITY sqlstate
SELECT * FROM instsim_moments('cat_seg', 'drums', '[1,2]', NULL::int, 0);
SELECT * FROM instsim_moments('cat_seg', 'drums', '[1,2]', NULL::int, 10, 0);
SELECT * FROM instsim_moments('cat_seg', 'drums', NULL, NULL::int);
SELECT * FROM instsim_moments('cat_seg', 'drums', '[1,2]', NULL::int);
SELECT * FROM instsim_moments('cat_seg', 'nope', '[1,2]', NULL::int);
SELECT * FROM instsim_moments('cat_seg', 'start_s', '[1,2]', NULL::int);
SELECT * FROM instsim_moments('cat_seg', 'drums', '[1,2]', NULL::bigint);
SELECT * FROM instsim_moments('cat_seg_nokey', 'drums', '[1,2]', NULL::int);
SELECT * FROM instsim_moments('cat_seg_notime', 'drums', '[1,2]', NULL::int);
SELECT * FROM instsim_moments('cat_seg_song', 'drums', '[1,2]', NULL::int);
SELECT * FROM instsim_moments('cat_seg', 'drums', '[1,2]', NULL::int, metric => 'dot');
SELECT * FROM instsim_explain_moments('cat_seg', 3, 999);
SELECT * FROM instsim_explain_moments('cat_seg', 3, NULL);
SELECT * FROM instsim_explain_moments('cat_seg', 3::bigint, 4::bigint);
SELECT * FROM instsim_explain_moments('cat_seg', 3, 4, '{genre}');
\set VERBOSITY default
SELECT count(*) AS with_track_column FROM instsim_moments('cat_seg_nokey', 'drums',
	'[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]', NULL::int, track_column => 'track_id');

DROP VIEW cat_seg_song;
DROP TABLE cat_seg, cat_seg_nokey, cat_seg_notime, cat_song, cat_centre;
DROP FUNCTION cat_exact_moments(embedding, int, text), cat_recall(text[], text[]);
