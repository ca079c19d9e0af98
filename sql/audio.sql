-- Models and audio -> embedding functions, with the fixtures that
-- scripts/test.sh writes to $INSTSIM_FIXTURES (test/fixtures/make_fixtures.c
-- and instsim-makemodel), loaded client-side with \lo_import.
\getenv fixtures INSTSIM_FIXTURES
\getenv abs_srcdir PG_ABS_SRCDIR
\set load_fixture :abs_srcdir/sql/fixture.psql
CREATE TABLE files (name text PRIMARY KEY, data bytea NOT NULL);
-- audio is read in slices only from uncompressed values (see below)
ALTER TABLE files ALTER COLUMN data SET STORAGE EXTERNAL;
\set fixture_table files
\set file model1.safetensors
\i :load_fixture
\set file model2.safetensors
\i :load_fixture
\set file chord.flac
\i :load_fixture
\set file beat48k.wav
\i :load_fixture
\set file bass.ogg
\i :load_fixture
\set file chord.aiff
\i :load_fixture
\set file silence.wav
\i :load_fixture
\set file short.wav
\i :load_fixture
\set file truncated.flac
\i :load_fixture
\set file junk.bin
\i :load_fixture
\set file heavy.safetensors
\i :load_fixture
\set file beat8k.wav
\i :load_fixture
-- the models go by their names
UPDATE files SET name = replace(name, '.safetensors', '');
CREATE FUNCTION f(text) RETURNS bytea LANGUAGE sql AS 'SELECT data FROM files WHERE name = $1';
-- a model file with its checksum recomputed after an edit (format in model.h)
CREATE FUNCTION reseal(d bytea) RETURNS bytea LANGUAGE sql AS $$
  SELECT overlay(z PLACING convert_to(encode(sha256(z), 'hex'), 'UTF8') FROM at FOR 64)
  FROM (SELECT position(convert_to('"sha256":"', 'UTF8') IN d) + 10 AS at) p,
       LATERAL (SELECT overlay(d PLACING convert_to(repeat('0', 64), 'UTF8') FROM p.at FOR 64) AS z) q
$$;
-- the last linear layer of the default network (128 x 128 weights and 128
-- biases, the file's last bytes) set to the float 3e38: its outputs overflow
CREATE FUNCTION huge_weights(d bytea) RETURNS bytea LANGUAGE sql AS $$
  SELECT reseal(overlay(d PLACING decode(repeat('e6b1617f', 16512), 'hex') FROM length(d) - 66047))
$$;

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

-- models that parse but cannot run are refused when loaded, not at first use
SELECT reseal(f('model1')) = f('model1') AS reseal_is_identity;
\set VERBOSITY sqlstate
SELECT instsim_model_load('nyquist', reseal(overlay(f('model1') PLACING '30000'::bytea
       FROM position(convert_to('f_max\":22050', 'UTF8') IN f('model1')) + 8 FOR 5)));
SELECT instsim_model_load('overflow', huge_weights(f('model1')));
SET instsim.max_model_gflops = 0.01;
SELECT instsim_model_load('costly', f('model1'));
RESET instsim.max_model_gflops;
SET instsim.max_model_arena = '1MB';
SELECT instsim_model_load('big', f('model1'));
RESET instsim.max_model_arena;
SELECT instsim_model_load(repeat('n', 64), f('model1'));
SELECT instsim_embed(f('chord.flac'), repeat('n', 128));
\set VERBOSITY default
SELECT instsim_model_load(repeat('n', 64), f('model1'));
SET instsim.max_model_gflops = 0.01;
SELECT instsim_model_load('costly', f('model1'));
RESET instsim.max_model_gflops;
SELECT instsim_model_load('overflow', huge_weights(f('model1')));
SELECT instsim_model_load('nyquist', reseal(overlay(f('model1') PLACING '30000'::bytea
       FROM position(convert_to('f_max\":22050', 'UTF8') IN f('model1')) + 8 FOR 5)));
SELECT count(*) FROM instsim.model WHERE NOT builtin;  -- failed loads stored nothing
-- a 63-byte name is fine
SELECT length(instsim_model_load(repeat('n', 63), f('model1'))) AS sha_len;
SELECT instsim_embed(f('chord.flac'), repeat('n', 63)) = instsim_embed(f('chord.flac'), 'mix') AS same;
SELECT instsim_model_drop(repeat('n', 63));
-- a model row written around instsim_model_load whose weights overflow: an
-- error naming the model, never a NaN embedding
INSERT INTO instsim.model (name, instrument, params, weights, sha256)
SELECT 'stored_overflow', 'mix', '{}', d, convert_from(substr(d, position(convert_to('"sha256":"', 'UTF8') IN d) + 10, 64), 'UTF8')
FROM (SELECT huge_weights(f('model1')) AS d) s;
\set VERBOSITY sqlstate
SELECT instsim_embed(f('chord.flac'), 'stored_overflow');
\set VERBOSITY default
SELECT instsim_embed(f('chord.flac'), 'stored_overflow');
DELETE FROM instsim.model WHERE name = 'stored_overflow';

-- a pass is cancelled between the network's layers, not only between batches
-- of 16 segments: a cancelled call ends far sooner than a whole one (16
-- segments of a 4-GFLOP model); times vary too much to compare with constants
SELECT length(instsim_model_load('heavy', f('heavy'))) AS sha_len;
SELECT embedding_dims(instsim_embed(f('beat8k.wav'), 'heavy')) AS dims;  -- warm the model cache
SELECT clock_timestamp() AS t0 \gset
SELECT embedding_dims(instsim_embed(f('beat8k.wav'), 'heavy')) AS dims;
SELECT clock_timestamp() - :'t0' AS whole_call \gset
SET statement_timeout = '20ms';
SELECT clock_timestamp() AS t0 \gset
SELECT instsim_embed(f('beat8k.wav'), 'heavy');
RESET statement_timeout;
SELECT clock_timestamp() - :'t0' < :'whole_call'::interval / 2 AS cancelled_between_layers;
SELECT instsim_model_drop('heavy');
DELETE FROM files WHERE name IN ('heavy', 'beat8k.wav');

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

-- a compressed value cannot be read in slices: once per session, a NOTICE
-- recommends STORAGE EXTERNAL (100 s of silence, 8-kHz 16-bit mono WAV)
CREATE TABLE packed (audio bytea);
CREATE TABLE sliced (audio bytea);
ALTER TABLE sliced ALTER COLUMN audio SET STORAGE EXTERNAL;
INSERT INTO packed SELECT decode('52494646246a180057415645666d74201000000001000100401f0000803e000002001000'
                                 || '64617461006a1800' || repeat('00', 1600000), 'hex');
INSERT INTO sliced SELECT audio FROM packed;
SELECT pg_column_size(audio) < 100000 AS compressed FROM packed;
SELECT i.frames FROM sliced, instsim_audio_info(audio) i;
SELECT i.frames FROM packed, instsim_audio_info(audio) i;
SELECT i.frames FROM packed, instsim_audio_info(audio) i;
DROP TABLE packed, sliced;

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

-- ---- a pinned version of a model ------------------------------------------
-- instsim_embed(audio, model, sha256) is IMMUTABLE: it embeds as the
-- two-argument form while the model is that version, and refuses otherwise
SELECT instsim_embed(f('chord.flac'), 'drums', (SELECT sha256 FROM instsim.model WHERE name = 'drums'))
       = instsim_embed(f('chord.flac'), 'drums') AS same_as_unpinned;
SELECT provolatile FROM pg_proc WHERE oid = 'instsim_embed(bytea, text, text)'::regprocedure;
\set VERBOSITY sqlstate
SELECT instsim_embed(f('chord.flac'), 'drums', repeat('0', 64));
SELECT instsim_embed(f('chord.flac'), 'no such model', repeat('0', 64));
\set VERBOSITY terse
SELECT instsim_embed(f('chord.flac'), 'drums', 'abc');
\set VERBOSITY default

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
