-- Models and audio -> embedding functions, with the fixtures that
-- scripts/test.sh writes to $INSTSIM_FIXTURES (test/fixtures/make_fixtures.c
-- and instsim-makemodel), loaded client-side with \lo_import.
\getenv fixtures INSTSIM_FIXTURES
CREATE TABLE files (name text PRIMARY KEY, data bytea NOT NULL);
\lo_import :fixtures/model1.safetensors
INSERT INTO files VALUES ('model1', lo_get(:LASTOID)); SELECT lo_unlink(:LASTOID) AS unlinked;
\lo_import :fixtures/model2.safetensors
INSERT INTO files VALUES ('model2', lo_get(:LASTOID)); SELECT lo_unlink(:LASTOID) AS unlinked;
\lo_import :fixtures/chord.flac
INSERT INTO files VALUES ('chord.flac', lo_get(:LASTOID)); SELECT lo_unlink(:LASTOID) AS unlinked;
\lo_import :fixtures/beat48k.wav
INSERT INTO files VALUES ('beat48k.wav', lo_get(:LASTOID)); SELECT lo_unlink(:LASTOID) AS unlinked;
\lo_import :fixtures/bass.ogg
INSERT INTO files VALUES ('bass.ogg', lo_get(:LASTOID)); SELECT lo_unlink(:LASTOID) AS unlinked;
\lo_import :fixtures/chord.aiff
INSERT INTO files VALUES ('chord.aiff', lo_get(:LASTOID)); SELECT lo_unlink(:LASTOID) AS unlinked;
\lo_import :fixtures/silence.wav
INSERT INTO files VALUES ('silence.wav', lo_get(:LASTOID)); SELECT lo_unlink(:LASTOID) AS unlinked;
\lo_import :fixtures/short.wav
INSERT INTO files VALUES ('short.wav', lo_get(:LASTOID)); SELECT lo_unlink(:LASTOID) AS unlinked;
\lo_import :fixtures/truncated.flac
INSERT INTO files VALUES ('truncated.flac', lo_get(:LASTOID)); SELECT lo_unlink(:LASTOID) AS unlinked;
\lo_import :fixtures/junk.bin
INSERT INTO files VALUES ('junk.bin', lo_get(:LASTOID)); SELECT lo_unlink(:LASTOID) AS unlinked;
CREATE FUNCTION f(text) RETURNS bytea LANGUAGE sql AS 'SELECT data FROM files WHERE name = $1';

-- ---- models ---------------------------------------------------------------
-- the shipped models, loaded by CREATE EXTENSION
SELECT name, instrument, dims FROM instsim.models WHERE builtin ORDER BY name;
SELECT p ->> 'instrument' AS instrument, p -> 'embedding_dim' AS dim, p -> 'input_shape' AS input,
       p -> 'frontend' ->> 'sample_rate' AS rate, jsonb_array_length(p -> 'layers') AS layers,
       p -> 'layers' -> 0 AS first_layer
FROM (SELECT instsim_model_inspect(f('model1')) AS p) s;
SELECT length(instsim_model_load('mix', f('model1'))) AS sha_len;
SELECT instsim_model_load('other', f('model2')) <> (SELECT sha256 FROM instsim.model WHERE name = 'mix') AS differs;
SELECT name, instrument, dims, builtin FROM instsim.models WHERE NOT builtin ORDER BY name;
SELECT instsim_model_drop('other'), instsim_model_drop('other');

\set VERBOSITY sqlstate
SELECT instsim_model_inspect(substr(f('model1'), 1, 1000));    -- truncated
SELECT instsim_model_inspect(overlay(f('model1') PLACING '\xff' FROM 4000 FOR 1)); -- tampered data
SELECT instsim_model_inspect(overlay(f('model1') PLACING '\x20' FROM 20 FOR 1));   -- tampered header
SELECT instsim_model_inspect('');
SELECT instsim_model_inspect(f('junk.bin'));
SELECT instsim_model_load('', f('model1'));
SELECT instsim_embed(f('chord.flac'), 'no such model');
\set VERBOSITY default
SELECT instsim_model_inspect(overlay(f('model1') PLACING '\xff' FROM 4000 FOR 1));
SELECT instsim_embed(f('chord.flac'), 'no such model');
SELECT count(*) FROM instsim.model WHERE NOT builtin;  -- failed loads stored nothing

-- ---- audio ----------------------------------------------------------------
SELECT name, i.sample_rate, i.channels, i.frames, round(i.seconds::numeric, 3) AS seconds, i.format
FROM files, instsim_audio_info(data) i
WHERE name NOT IN ('model1', 'model2', 'junk.bin', 'truncated.flac') ORDER BY name;

\set VERBOSITY sqlstate
SELECT * FROM instsim_audio_info('');
SELECT * FROM instsim_audio_info(f('junk.bin'));
SELECT * FROM instsim_audio_info(f('model1'));
SELECT * FROM instsim_audio_info('\x52494646');   -- "RIFF" and nothing else
SELECT instsim_embed(f('junk.bin'));
SELECT instsim_embed('\x00');
SELECT instsim_embed(f('truncated.flac'));
\set VERBOSITY default
SELECT instsim_embed(f('junk.bin'));

-- track embeddings: unit length; NULL without an audible 3-s segment
SELECT name, embedding_dims(e) AS dims, round(embedding_norm(e)::numeric, 5) AS norm
FROM (SELECT name, instsim_embed(data) AS e FROM files
      WHERE name NOT IN ('model1', 'model2', 'junk.bin', 'truncated.flac')) s ORDER BY name;
-- the default model is 'mix'; an explicit name gives the same
SELECT instsim_embed(f('chord.flac')) = instsim_embed(f('chord.flac'), 'mix') AS same;

-- several models in one call (one decode and one log-mel per segment): the
-- same vectors as one call per model, in the order named; NULL as a whole
-- without an audible segment
SELECT length(instsim_model_load('other', f('model2'))) AS sha_len;
SELECT name, cardinality(e) AS n, e[1] = instsim_embed(data, 'mix') AS mix,
       e[2] = instsim_embed(data, 'other') AS other, e[3] = e[1] AS repeated,
       e[1] <> e[2] AS differ
FROM (SELECT name, data, instsim_embed(data, ARRAY['mix', 'other', 'mix']) AS e FROM files
      WHERE name NOT IN ('model1', 'model2', 'junk.bin', 'truncated.flac')) s ORDER BY name;
-- several columns filled from one call (the README's form)
CREATE TABLE t AS SELECT name, data FROM files WHERE name IN ('chord.flac', 'silence.wav');
ALTER TABLE t ADD mix embedding, ADD other embedding;
UPDATE t SET (mix, other) = (SELECT e[1], e[2] FROM instsim_embed(data, ARRAY['mix', 'other']) e);
SELECT name, mix = instsim_embed(data, 'mix') AS mix, other = instsim_embed(data, 'other') AS other,
       mix IS NULL AS is_null FROM t ORDER BY name;
DROP TABLE t;
-- a literal second argument is a model name; only an array picks the array form
SELECT pg_typeof(instsim_embed(f('chord.flac'))) AS no_model,
       pg_typeof(instsim_embed(f('chord.flac'), 'other')) AS literal,
       pg_typeof(instsim_embed(f('chord.flac'), '{other}'::text[])) AS array_form,
       (instsim_embed(f('chord.flac'), '{other}'::text[]))[1]
         = instsim_embed(f('chord.flac'), 'other') AS same;
-- model1 with another silence threshold (and its checksum redone): a
-- different front end, so it cannot share a run with 'mix'
WITH m AS (SELECT f('model1') AS d, (SELECT sha256 FROM instsim.model WHERE name = 'mix') AS sha),
     edited AS (SELECT overlay(d PLACING '5'::bytea
                               FROM position(convert_to('silence_dbfs\":-60', 'UTF8') IN d) + 16 FOR 1) AS d,
                       position(sha::bytea IN d) AS at FROM m),
     zeroed AS (SELECT d, at, overlay(d PLACING repeat('0', 64)::bytea FROM at FOR 64) AS z FROM edited)
SELECT length(instsim_model_load('quiet', overlay(z PLACING encode(sha256(z), 'hex')::bytea FROM at FOR 64)))
       AS sha_len FROM zeroed;
SELECT instsim_model_inspect(weights) -> 'frontend' -> 'silence_dbfs' AS quiet_threshold
FROM instsim.model WHERE name = 'quiet';
\set VERBOSITY sqlstate
SELECT instsim_embed(f('chord.flac'), ARRAY[]::text[]);
SELECT instsim_embed(f('chord.flac'), ARRAY['mix', 'no such model']);
SELECT instsim_embed(f('chord.flac'), ARRAY['mix', NULL]);
SELECT instsim_embed(f('chord.flac'), ARRAY[['mix'], ['other']]);
SELECT instsim_embed(f('chord.flac'), ARRAY['mix', 'quiet']);
SELECT instsim_embed(f('junk.bin'), ARRAY['mix', 'other']);
\set VERBOSITY default
SELECT instsim_embed(f('chord.flac'), ARRAY[]::text[]);
SELECT instsim_embed(f('chord.flac'), ARRAY['mix', NULL]);
SELECT instsim_embed(f('chord.flac'), ARRAY['other', 'mix', 'quiet']);
SELECT instsim_model_drop('other'), instsim_model_drop('quiet');

-- segments: 3-s windows every 1.5 s, whole windows only, silence skipped
SELECT seg, start_s, round(embedding_norm(emb)::numeric, 5) AS norm
FROM instsim_segments(f('chord.flac'));
SELECT count(*) FROM instsim_segments(f('silence.wav'));
SELECT count(*) FROM instsim_segments(f('short.wav'));
-- the track vector is the normalised centroid of the segment vectors
SELECT (SELECT l2_normalize(avg(emb)) FROM instsim_segments(f('beat48k.wav')))
       <=> instsim_embed(f('beat48k.wav')) < 1e-6 AS centroid;
-- different sounds, different embeddings
SELECT instsim_embed(f('chord.flac')) <=> instsim_embed(f('beat48k.wav')) > 1e-4 AS differ;

-- the mel image the network sees
SELECT array_dims(instsim_mel(f('chord.flac'))) AS dims,
       array_dims(instsim_mel(f('chord.flac'), 4.5)) AS later,
       instsim_mel(f('chord.flac'), 100) IS NULL AS past_end,
       instsim_mel(f('silence.wav')) IS NULL AS silent;

-- replacing a model's row is seen by the next call (the per-backend cache
-- checks the row's checksum)
SELECT instsim_embed(f('chord.flac')) AS before \gset
SELECT length(instsim_model_load('mix', f('model2'))) AS sha_len;
SELECT instsim_embed(f('chord.flac')) <=> :'before' > 1e-4 AS changed;
SELECT length(instsim_model_load('mix', f('model1'))) AS sha_len;
SELECT instsim_embed(f('chord.flac')) <=> :'before' < 1e-6 AS restored;

-- ---- privileges -----------------------------------------------------------
CREATE ROLE instsim_reader;
GRANT SELECT ON files TO instsim_reader;
SET ROLE instsim_reader;
SELECT embedding_dims(instsim_embed(f('chord.flac'))) AS reader_can_embed;
\set VERBOSITY sqlstate
SELECT instsim_model_load('mine', f('model1'));
SELECT instsim_model_load_file('mine', '/etc/passwd');
SELECT instsim_model_drop('mix');
\set VERBOSITY default
RESET ROLE;
DROP OWNED BY instsim_reader;
DROP ROLE instsim_reader;
