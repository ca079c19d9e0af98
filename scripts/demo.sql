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

\echo
\echo '== catalogue questions in one call: the queries of the README''s "Asking per-instrument questions"'
RESET enable_seqscan;
SET client_min_messages = warning;   -- the segment fill's progress NOTICEs
\echo '-- drums like track 1 AND bass like track 2 (weights 1 and 0.5), in other genres than track 1''s'
SELECT t.id, t.title, w.distance, w.distances            -- distances: {drums, bass}
FROM instsim_weighted_like('tracks', '{drums,bass}', ARRAY[1, 2], '{1, 0.5}', 5,
         filter => $$genre <> (SELECT genre FROM public.tracks WHERE id = 1)$$) w
JOIN tracks t ON t.id = w.key ORDER BY w.distance;
\echo '-- the same with query vectors from anywhere (here the catalogue; or instsim_embed(clip, ''bass''))'
SELECT * FROM instsim_weighted('tracks', '{drums,bass}',
    ARRAY[(SELECT drums FROM tracks WHERE id = 1), (SELECT bass FROM tracks WHERE id = 2)],
    '{1, 0.5}', NULL::int, 5);             -- NULL::int: the type of the key returned
\echo
\echo '-- more like this playlist by the piano: by its centroid, or by the nearest seed'
SELECT * FROM instsim_more_like('tracks', 'piano', ARRAY[1, 2, 3], 4);
SELECT * FROM instsim_more_like('tracks', 'piano', ARRAY[1, 2, 3], 4, 'best');
\echo
\echo '-- moments: every 3-s window of every track, per instrument, filled in committed batches'
CREATE TABLE segments (track_id int REFERENCES tracks, start_s real,
    drums embedding(128), bass embedding(128), PRIMARY KEY (track_id, start_s));
CALL instsim_fill_segments('tracks', '{drums_audio,bass_audio}', 'segments', '{drums,bass}');
CREATE INDEX ON segments USING instsim_hnsw (bass embedding_cosine_ops);
\echo '-- where in the catalogue does a bass sound like track 1 at 12 s? (one hit per track)'
SELECT m.track, t.title, m.start_s, m.distance
FROM instsim_moments('segments', 'bass', (SELECT bass FROM segments WHERE track_id = 1 AND start_s = 12),
         NULL::int, 5, filter => 'track_id <> 1') m
JOIN tracks t ON t.id = m.track ORDER BY m.distance;
\echo '-- ... only in one genre: metadata through a view'
CREATE VIEW segments_meta AS SELECT s.*, t.genre FROM segments s JOIN tracks t ON t.id = s.track_id;
SELECT * FROM instsim_moments('segments_meta', 'bass', (SELECT bass FROM segments WHERE track_id = 1
         AND start_s = 12), NULL::int, 3, filter => $$genre = 'rock'$$, track_column => 'track_id');
\echo
\echo '-- why are tracks 1 and 2 alike? per instrument, then their closest moments'
SELECT * FROM instsim_explain('tracks', 1, 2) ORDER BY distance;
SELECT * FROM instsim_explain_moments('segments', 1, 2) ORDER BY distance LIMIT 5;

\echo
\echo '== a catalogue without stems: mixes alone, heard per instrument by the *_mix models'
CREATE TABLE mixes (id int PRIMARY KEY, title text, audio bytea, mix embedding(128),
    drums embedding(128), bass embedding(128), piano embedding(128), guitar embedding(128));
ALTER TABLE mixes ALTER audio SET STORAGE EXTERNAL;
INSERT INTO mixes (id, title, audio) SELECT id, title, mix_audio FROM tracks;
\echo '-- five models from one decode and one log-mel per track'
UPDATE mixes SET (mix, drums, bass, piano, guitar) = (SELECT e[1], e[2], e[3], e[4], e[5]
    FROM instsim_embed(audio, ARRAY['mix', 'drums_mix', 'bass_mix', 'piano_mix', 'guitar_mix']) e);
\echo '-- drums like track 1''s, from the mixes alone, beside the distance between the drum stems'
SELECT m.id, m.title, round((m.drums <=> q.drums)::numeric, 4) AS drums_from_mix,
       round((t.drums <=> (SELECT drums FROM tracks WHERE id = 1))::numeric, 4) AS drums_from_stem
FROM mixes m JOIN tracks t USING (id), (SELECT drums FROM mixes WHERE id = 1) q
WHERE m.id <> 1
ORDER BY m.drums <=> q.drums
LIMIT 5;
\echo '-- how far the mix-only answers follow the stems: Pearson r over every pair of tracks'
SELECT round(corr(ma.drums <=> mb.drums, ta.drums <=> tb.drums)::numeric, 2) AS drums,
       round(corr(ma.bass <=> mb.bass, ta.bass <=> tb.bass)::numeric, 2) AS bass,
       round(corr(ma.piano <=> mb.piano, ta.piano <=> tb.piano)::numeric, 2) AS piano,
       round(corr(ma.guitar <=> mb.guitar, ta.guitar <=> tb.guitar)::numeric, 2) AS guitar
FROM mixes ma JOIN tracks ta USING (id), mixes mb JOIN tracks tb ON tb.id = mb.id
WHERE ma.id < mb.id;
