-- Mix-input models (issue #14): a model whose input kind is "mix" hears the
-- whole mix and answers for its instrument.  The kind is in the file's
-- metadata, shown in instsim.models, and every audio function takes such a
-- model like any other.  The fixture is a synthetic drums model marked "mix"
-- (instsim-makemodel OUT 3 drums mix).
\getenv fixtures INSTSIM_FIXTURES
\getenv abs_srcdir PG_ABS_SRCDIR
\set load_fixture :abs_srcdir/sql/fixture.psql
CREATE TEMP TABLE files (name text PRIMARY KEY, data bytea);
\set fixture_table files
\set file drums_mix.safetensors
\i :load_fixture
\set file beat48k.wav
\i :load_fixture
\set file chord.flac
\i :load_fixture
SELECT length(instsim_model_load('test_drums_mix', data)) AS sha_len FROM files WHERE name = 'drums_mix.safetensors';
CREATE TABLE clips (id int PRIMARY KEY, audio bytea, drums embedding(128));
INSERT INTO clips SELECT 1, data FROM files WHERE name = 'beat48k.wav';
INSERT INTO clips SELECT 2, data FROM files WHERE name = 'chord.flac';
DROP TABLE files;

-- the shipped models: one per instrument that hears its stem (the mix model:
-- the mix, its own signal) and one per instrument that hears the mix (*_mix)
SELECT name, instrument, input FROM instsim.models ORDER BY name;
SELECT instsim_model_inspect(weights) ->> 'input' AS input
FROM instsim.model WHERE name IN ('drums', 'test_drums_mix') ORDER BY name;

-- single and array forms agree, with a stem model in the same array
SELECT e[2] = instsim_embed(audio, 'test_drums_mix') AS same_as_single,
       e[1] = instsim_embed(audio, 'drums') AS stem_same_as_single,
       e[1] <> e[2] AS differs_from_stem
FROM clips, LATERAL (SELECT instsim_embed(audio, ARRAY['drums', 'test_drums_mix', 'mix']) AS e) x
ORDER BY id;

-- the track vector is the normalised centroid of the per-segment embeddings
SELECT c.id, count(*) > 0 AS has_segments,
       l2_normalize(avg(s.emb)) <=> instsim_embed(c.audio, 'test_drums_mix') < 1e-6 AS centroid
FROM clips c, LATERAL instsim_segments(c.audio, 'test_drums_mix') s
GROUP BY c.id, c.audio ORDER BY c.id;

-- per-segment embeddings of a stem and a mix model from one decode agree with
-- the single-model form
SELECT c.id, bool_and(m.embs[2] = s.emb) AS same_segments, count(*) > 0 AS has_segments
FROM clips c,
     LATERAL instsim_segments(c.audio, ARRAY['drums', 'test_drums_mix']) m
     JOIN LATERAL instsim_segments(c.audio, 'test_drums_mix') s ON s.seg = m.seg
GROUP BY c.id ORDER BY c.id;

-- a catalogue filled in batches with the mix model
SET client_min_messages = warning;
CALL instsim_fill_embeddings('clips', 'audio', 'drums', model => 'test_drums_mix', batch_size => 1);
RESET client_min_messages;
SELECT id, drums = instsim_embed(audio, 'test_drums_mix') AS filled FROM clips ORDER BY id;

-- a row stored before the input key existed (params without it) is a stem model
UPDATE instsim.model SET params = params - 'input' WHERE name = 'test_drums_mix';
SELECT name, input FROM instsim.models WHERE name = 'test_drums_mix';

SELECT instsim_model_drop('test_drums_mix');
DROP TABLE clips;
SELECT count(*) AS progress_rows FROM instsim.fill_progress;
