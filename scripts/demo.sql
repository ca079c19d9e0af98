-- The instsim demo: per-instrument similarity of real audio, in plain SQL.
-- psql variable :catalogue names the TSV written by scripts/demo_catalogue.sh.
\pset footer off
\set ON_ERROR_STOP on
\echo
\echo '== instsim demo: tracks whose drums sound like these drums'
CREATE EXTENSION IF NOT EXISTS instsim;
\echo
\echo '-- the shipped models (one CNN per instrument, loaded by CREATE EXTENSION)'
SELECT name, instrument, dims, size FROM instsim.models ORDER BY name;

-- A catalogue: metadata plus the audio of the mix and of each instrument's stem.
CREATE TABLE catalogue_files (track text, genre text, tempo int, key text,
	mix text, drums text, bass text, piano text, guitar text);
COPY catalogue_files FROM :'catalogue' (FORMAT text, NULL '');
CREATE TABLE tracks (
	id          int PRIMARY KEY,
	title       text,
	genre       text,
	tempo       int,
	key         text,
	mix_audio   bytea, drums_audio bytea, bass_audio bytea, piano_audio bytea, guitar_audio bytea,
	mix         embedding(128), drums embedding(128), bass embedding(128),
	piano       embedding(128), guitar embedding(128)
);
ALTER TABLE tracks ALTER mix_audio SET STORAGE EXTERNAL, ALTER drums_audio SET STORAGE EXTERNAL,
	ALTER bass_audio SET STORAGE EXTERNAL, ALTER piano_audio SET STORAGE EXTERNAL,
	ALTER guitar_audio SET STORAGE EXTERNAL;
INSERT INTO tracks (id, title, genre, tempo, key, mix_audio, drums_audio, bass_audio, piano_audio, guitar_audio)
SELECT row_number() OVER (ORDER BY track), track, genre, tempo, key,
	pg_read_binary_file(mix), pg_read_binary_file(drums), pg_read_binary_file(bass),
	pg_read_binary_file(piano), pg_read_binary_file(guitar)
FROM catalogue_files;
\echo
\echo '-- the catalogue'
SELECT id, title, genre, tempo, key, pg_size_pretty(octet_length(mix_audio)::bigint) AS mix_flac,
	round((instsim_audio_info(mix_audio)).seconds) AS seconds
FROM tracks ORDER BY id;

\echo
\echo '-- embedding every track, one instrument at a time, in committed batches'
SET client_min_messages = warning;
CALL instsim_fill_embeddings('tracks', 'mix_audio', 'mix', model => 'mix');
CALL instsim_fill_embeddings('tracks', 'drums_audio', 'drums', model => 'drums');
CALL instsim_fill_embeddings('tracks', 'bass_audio', 'bass', model => 'bass');
CALL instsim_fill_embeddings('tracks', 'piano_audio', 'piano', model => 'piano');
CALL instsim_fill_embeddings('tracks', 'guitar_audio', 'guitar', model => 'guitar');
RESET client_min_messages;
SELECT tbl, emb_column, rows_done, rows_null, rows_failed,
	round(extract(epoch FROM updated - started)::numeric, 1) AS seconds
FROM instsim.fill_progress ORDER BY emb_column;

-- An HNSW index per instrument (on a catalogue this small the planner would
-- rather scan, so the demo asks for the index to show it).
CREATE INDEX tracks_drums ON tracks USING instsim_hnsw (drums embedding_cosine_ops);
CREATE INDEX tracks_bass ON tracks USING instsim_hnsw (bass embedding_cosine_ops);
SET enable_seqscan = off;

\echo
\echo '-- 1. the 5 tracks whose DRUMS sound most like the drums of track 1'
SELECT t.id, t.title, t.genre, t.tempo, round((t.drums <=> q.drums)::numeric, 4) AS drum_distance
FROM tracks t, (SELECT drums FROM tracks WHERE id = 1) q
WHERE t.id <> 1
ORDER BY t.drums <=> q.drums
LIMIT 5;
EXPLAIN (COSTS OFF)
SELECT t.id FROM tracks t WHERE t.id <> 1
ORDER BY t.drums <=> (SELECT drums FROM tracks WHERE id = 1) LIMIT 5;

\echo
\echo '-- 2. the same question about the BASS: another notion of similarity'
SELECT t.id, t.title, t.genre, t.key, round((t.bass <=> q.bass)::numeric, 4) AS bass_distance
FROM tracks t, (SELECT bass FROM tracks WHERE id = 1) q
WHERE t.id <> 1
ORDER BY t.bass <=> q.bass
LIMIT 5;

\echo
\echo '-- 3. for every track, its nearest neighbour by each instrument'
SELECT t.id, t.title, t.genre,
	(SELECT o.id FROM tracks o WHERE o.id <> t.id ORDER BY o.mix <=> t.mix LIMIT 1) AS by_mix,
	(SELECT o.id FROM tracks o WHERE o.id <> t.id ORDER BY o.drums <=> t.drums LIMIT 1) AS by_drums,
	(SELECT o.id FROM tracks o WHERE o.id <> t.id ORDER BY o.bass <=> t.bass LIMIT 1) AS by_bass,
	(SELECT o.id FROM tracks o WHERE o.id <> t.id ORDER BY o.piano <=> t.piano LIMIT 1) AS by_piano,
	(SELECT o.id FROM tracks o WHERE o.id <> t.id ORDER BY o.guitar <=> t.guitar LIMIT 1) AS by_guitar
FROM tracks t ORDER BY t.id;

\echo
\echo '-- 4. a filtered search: drums like track 1, but only in another genre (iterative index scan)'
SET instsim.iterative_scan = on;
SELECT t.id, t.title, t.genre, round((t.drums <=> q.drums)::numeric, 4) AS drum_distance
FROM tracks t, (SELECT drums, genre FROM tracks WHERE id = 1) q
WHERE t.genre <> q.genre
ORDER BY t.drums <=> q.drums
LIMIT 3;

\echo
\echo '-- 5. segment level: where in track 2 do the drums sound most like track 1''s drums?'
SELECT s.seg, s.start_s, round((s.emb <=> q.drums)::numeric, 4) AS distance
FROM tracks t, instsim_segments(t.drums_audio, 'drums') s, (SELECT drums FROM tracks WHERE id = 1) q
WHERE t.id = 2
ORDER BY s.emb <=> q.drums
LIMIT 3;
