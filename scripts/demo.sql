-- The instsim demo: per-instrument similarity in plain SQL.
\pset footer off
\echo
\echo '== instsim demo: which tracks have drums like these drums?'
CREATE EXTENSION IF NOT EXISTS instsim;

-- A small catalogue.  Each track has one embedding per instrument; here they
-- are synthetic (a few "styles" plus noise) until audio is embedded for real.
CREATE TABLE tracks (
	id      int PRIMARY KEY,
	title   text,
	artist  text,
	genre   text,
	drums   embedding(8),
	bass    embedding(8)
);

INSERT INTO tracks
SELECT i,
	'Track ' || i,
	(ARRAY['Ada', 'Bix', 'Cleo', 'Dax'])[1 + i % 4],
	(ARRAY['jazz', 'rock', 'funk'])[1 + i % 3],
	-- drums follow the genre, bass follows the artist
	l2_normalize((SELECT array_agg(sin(k * (1 + i % 3)) + 0.1 * sin(i * k)) FROM generate_series(1, 8) k)::embedding),
	l2_normalize((SELECT array_agg(cos(k * (1 + i % 4)) + 0.1 * cos(i * k)) FROM generate_series(1, 8) k)::embedding)
FROM generate_series(1, 24) i;

\echo
\echo '-- the 5 tracks whose drums are closest to the drums of track 1 (cosine distance)'
SELECT t.id, t.title, t.genre, round((t.drums <=> q.drums)::numeric, 4) AS drum_distance
FROM tracks t, (SELECT drums FROM tracks WHERE id = 1) q
WHERE t.id <> 1
ORDER BY t.drums <=> q.drums
LIMIT 5;

\echo
\echo '-- the same question about bass, by other artists only'
SELECT t.id, t.title, t.artist, round((t.bass <=> q.bass)::numeric, 4) AS bass_distance
FROM tracks t, (SELECT bass, artist FROM tracks WHERE id = 1) q
WHERE t.artist <> q.artist
ORDER BY t.bass <=> q.bass
LIMIT 5;

\echo
\echo '-- a genre centroid (the paper''s track vector is the same: l2_normalize(avg(...)))'
SELECT genre, count(*) AS tracks,
	round((l2_normalize(avg(drums)) <=> (SELECT drums FROM tracks WHERE id = 1))::numeric, 4) AS distance_to_track_1
FROM tracks GROUP BY genre ORDER BY 3;
