-- instsim_segments(audio, models[]) and instsim_fill_segments(): a segment
-- table for moment search, filled from a track table's audio in committed
-- batches of tracks.
\getenv fixtures INSTSIM_FIXTURES
\getenv abs_srcdir PG_ABS_SRCDIR
\set load_fixture :abs_srcdir/sql/fixture.psql
CREATE TABLE clips (name text PRIMARY KEY, data bytea);
\set fixture_table clips
\set file chord.flac
\i :load_fixture
\set file beat48k.wav
\i :load_fixture
\set file bass.ogg
\i :load_fixture
\set file silence.wav
\i :load_fixture
UPDATE clips SET name = split_part(split_part(name, '48k', 1), '.', 1);

-- ---- several models from one decode: the one-model segments, side by side ----
SELECT count(*) AS segments,
	bool_and(m.embs[1] = d.emb AND m.embs[2] = b.emb AND m.start_s = d.start_s) AS same_as_one_model
FROM clips c
CROSS JOIN LATERAL instsim_segments(c.data, ARRAY['drums', 'bass']) m
JOIN LATERAL instsim_segments(c.data, 'drums') d ON d.seg = m.seg
JOIN LATERAL instsim_segments(c.data, 'bass') b ON b.seg = m.seg
WHERE c.name = 'beat';
SELECT count(*) AS pinned_segments FROM clips c,
	instsim_segments(c.data, ARRAY['drums', 'bass'],
	                 ARRAY(SELECT sha256 FROM instsim.model WHERE name IN ('drums', 'bass') ORDER BY name DESC)) s
WHERE c.name = 'beat';
\set VERBOSITY sqlstate
SELECT count(*) FROM clips c, instsim_segments(c.data, ARRAY['drums', 'bass'], ARRAY['00', '11']) WHERE c.name = 'beat';
SELECT count(*) FROM clips c, instsim_segments(c.data, ARRAY['drums', 'bass'], ARRAY['00']) WHERE c.name = 'beat';
SELECT count(*) FROM clips c, instsim_segments(c.data, ARRAY[]::text[]) WHERE c.name = 'beat';
SELECT count(*) FROM clips c, instsim_segments(c.data, ARRAY['drums', NULL]) WHERE c.name = 'beat';
SELECT count(*) FROM clips c, instsim_segments(c.data, ARRAY['drums', 'nope']) WHERE c.name = 'beat';
\set VERBOSITY default

-- ---- a catalogue: the mix for drums and piano, a bass stem for bass ----------
-- progress NOTICEs carry a rate; the progress table is checked instead
SET client_min_messages = warning;
CREATE TABLE song (id int PRIMARY KEY, mix bytea, bass_stem bytea);
INSERT INTO song
SELECT i, CASE WHEN i = 4 THEN '\xdeadbeef'::bytea
               ELSE (SELECT data FROM clips WHERE name = (ARRAY['chord', 'beat', 'silence'])[1 + i % 3]) END,
       CASE WHEN i % 2 = 0 THEN (SELECT data FROM clips WHERE name = 'bass') END
FROM generate_series(1, 7) i;
INSERT INTO song VALUES (8, NULL, NULL);   -- no audio at all: nothing to do
CREATE TABLE moment (song_id int, start_s real, drums embedding(128), bass embedding(128),
	piano embedding(128), PRIMARY KEY (song_id, start_s));
CALL instsim_fill_segments('song', '{mix,bass_stem,mix}', 'moment', '{drums,bass,piano}', batch_size => 3);
-- 1, 4 (undecodable, WARNING) and 5, 8 (silence, no audio) have no rows; 2 has only bass
SELECT song_id, count(*) AS segments, count(drums) AS drums, count(bass) AS bass, count(piano) AS piano
FROM moment GROUP BY song_id ORDER BY song_id;
SELECT tbl, emb_column, model, rows_total, rows_done, rows_null, rows_failed, finished IS NOT NULL AS finished
FROM instsim.fill_progress WHERE tbl = 'moment'::regclass;
-- each column holds its model's embedding of its audio, matched by start time
SELECT count(*) AS checked,
	bool_and(m.drums IS NOT DISTINCT FROM d.emb AND m.piano IS NOT DISTINCT FROM p.emb) AS mix_columns_ok,
	bool_and(m.bass IS NOT DISTINCT FROM b.emb) AS bass_column_ok
FROM moment m JOIN song s ON s.id = m.song_id
LEFT JOIN LATERAL instsim_segments(s.mix, 'drums') d ON d.start_s = m.start_s
LEFT JOIN LATERAL instsim_segments(s.mix, 'piano') p ON p.start_s = m.start_s
LEFT JOIN LATERAL instsim_segments(s.bass_stem, 'bass') b ON b.start_s = m.start_s;
-- resumable: only songs without rows are done again
DELETE FROM moment WHERE song_id = 3;
CALL instsim_fill_segments('song', '{mix,bass_stem,mix}', 'moment', '{drums,bass,piano}');
SELECT count(DISTINCT song_id) AS songs, count(*) AS segments FROM moment;
SELECT rows_total, rows_done, rows_null, rows_failed FROM instsim.fill_progress WHERE tbl = 'moment'::regclass;
-- one audio column for every embedding column, other model names
CREATE TABLE moment2 (song int, start_s real, d embedding(128), b embedding(128), PRIMARY KEY (song, start_s));
CALL instsim_fill_segments('song', '{mix}', 'moment2', '{d,b}', models => '{drums,bass}', key_column => 'id');
SELECT count(*) = (SELECT count(*) FROM song s, instsim_segments(s.mix, 'drums') WHERE s.id <> 4) AS all_segments,
	count(*) = count(b) AS every_column FROM moment2;
-- the moment search over it: each of the songs with the same audio, at distance 0
CREATE INDEX ON moment USING instsim_hnsw (drums embedding_cosine_ops);
SELECT track, start_s, round(distance::numeric, 6) AS distance FROM instsim_moments('moment', 'drums',
	(SELECT drums FROM moment WHERE song_id = 3 AND start_s = 3), NULL::int, 2) ORDER BY track;
RESET client_min_messages;

-- ---- who may fill, and errors ----------------------------------------------------
CREATE ROLE regress_instsim_segfill;
GRANT SELECT ON song, moment TO regress_instsim_segfill;
SET ROLE regress_instsim_segfill;
\set VERBOSITY sqlstate
CALL instsim_fill_segments('song', '{mix}', 'moment', '{drums}');
RESET ROLE;
CALL instsim_fill_segments('song', '{mix}', 'moment', '{drums,nope}');
CALL instsim_fill_segments('song', '{mix}', 'moment', '{drums,start_s}');
CALL instsim_fill_segments('song', '{mix,mix}', 'moment', '{drums,bass,piano}');
CALL instsim_fill_segments('song', '{mix}', 'moment', '{drums,bass}', models => '{drums}');
CALL instsim_fill_segments('song', '{nope}', 'moment', '{drums}');
CALL instsim_fill_segments('song', '{id}', 'moment', '{drums}');
CALL instsim_fill_segments('song', '{mix}', 'moment', '{drums}', models => '{nope}');
CALL instsim_fill_segments('song', '{mix}', 'moment', '{drums}', batch_size => 0);
CREATE TABLE moment_nokey (song_id int, start_s real, drums embedding(128));
CALL instsim_fill_segments('song', '{mix}', 'moment_nokey', '{drums}');
CREATE TABLE moment_bigint (song_id bigint, start_s real, drums embedding(128), PRIMARY KEY (song_id, start_s));
CALL instsim_fill_segments('song', '{mix}', 'moment_bigint', '{drums}');
BEGIN;
CALL instsim_fill_segments('song', '{mix}', 'moment', '{drums}');
ROLLBACK;
\set VERBOSITY default
SELECT count(*) AS locks_held FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();

DROP TABLE song, moment, moment2, moment_nokey, moment_bigint, clips;
DROP ROLE regress_instsim_segfill;
SELECT count(*) AS progress_rows FROM instsim.fill_progress WHERE tbl::text LIKE 'moment%';
