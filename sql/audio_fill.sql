-- instsim_fill_embeddings(): a catalogue embedded in committed batches.
\getenv fixtures INSTSIM_FIXTURES
\lo_import :fixtures/model1.safetensors
SELECT length(instsim_model_load('mix', lo_get(:LASTOID))) AS sha_len;
SELECT lo_unlink(:LASTOID) AS unlinked;
-- progress NOTICEs carry a rows/s rate; the progress table is checked instead
SET client_min_messages = warning;
CREATE TABLE clips (name text PRIMARY KEY, data bytea);
\lo_import :fixtures/chord.flac
INSERT INTO clips VALUES ('chord', lo_get(:LASTOID)); SELECT lo_unlink(:LASTOID) AS unlinked;
\lo_import :fixtures/beat48k.wav
INSERT INTO clips VALUES ('beat', lo_get(:LASTOID)); SELECT lo_unlink(:LASTOID) AS unlinked;
\lo_import :fixtures/silence.wav
INSERT INTO clips VALUES ('silence', lo_get(:LASTOID)); SELECT lo_unlink(:LASTOID) AS unlinked;

CREATE TABLE catalogue (id int PRIMARY KEY, audio bytea, mix embedding(128));
INSERT INTO catalogue
SELECT i, CASE WHEN i = 4 THEN '\xdeadbeef'::bytea
               WHEN i = 7 THEN NULL
               ELSE (SELECT data FROM clips WHERE name = (ARRAY['chord', 'beat', 'silence'])[1 + i % 3]) END
FROM generate_series(1, 9) i;

CALL instsim_fill_embeddings('catalogue', 'audio', 'mix', batch_size => 4);
SELECT id, mix IS NOT NULL AS embedded FROM catalogue ORDER BY id;
SELECT tbl, emb_column, model, rows_total, rows_done, rows_null, rows_failed, finished IS NOT NULL AS finished
FROM instsim.fill_progress;
-- same audio, same embedding
SELECT count(DISTINCT mix::text) FROM catalogue WHERE mix IS NOT NULL;
-- resumable: only rows still NULL are done again
UPDATE catalogue SET mix = NULL WHERE id = 1;
CALL instsim_fill_embeddings('catalogue', 'audio', 'mix', 'mix', 100);
SELECT rows_total, rows_done, rows_null, rows_failed FROM instsim.fill_progress;
SELECT count(*) FILTER (WHERE mix IS NOT NULL) AS embedded FROM catalogue;

\set VERBOSITY sqlstate
CALL instsim_fill_embeddings('catalogue', 'audio', 'mix', batch_size => 0);
CREATE TABLE nokey (audio bytea, e embedding);
CALL instsim_fill_embeddings('nokey', 'audio', 'e');
CALL instsim_fill_embeddings('nokey', 'audio', 'e', key_column => 'nope');
BEGIN;
CALL instsim_fill_embeddings('catalogue', 'audio', 'mix');
ROLLBACK;
\set VERBOSITY default
CALL instsim_fill_embeddings('nokey', 'audio', 'e');
DROP TABLE catalogue, clips, nokey;
