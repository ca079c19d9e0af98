-- instsim_fill_embeddings(): a catalogue embedded in committed batches.
\getenv fixtures INSTSIM_FIXTURES
\getenv abs_srcdir PG_ABS_SRCDIR
\set load_fixture :abs_srcdir/sql/fixture.psql
CREATE TABLE clips (name text PRIMARY KEY, data bytea);
\set fixture_table clips
\set file model1.safetensors
\i :load_fixture
\set file chord.flac
\i :load_fixture
\set file beat48k.wav
\i :load_fixture
\set file silence.wav
\i :load_fixture
SELECT length(instsim_model_load('mix', data)) AS sha_len FROM clips WHERE name = 'model1.safetensors';
DELETE FROM clips WHERE name = 'model1.safetensors';
UPDATE clips SET name = split_part(split_part(name, '48k', 1), '.', 1);
-- progress NOTICEs carry a rows/s rate; the progress table is checked instead
SET client_min_messages = warning;

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
-- refused before it took the column's lock
SELECT count(*) AS locks_held FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
\set VERBOSITY default
\set SHOW_CONTEXT never
CALL instsim_fill_embeddings('nokey', 'audio', 'e');

-- ---- the key: non-unique values and NULLs --------------------------------
-- rows sharing a key value are embedded together and counted one by one;
-- rows whose key is NULL are embedded last, by row address
CREATE TABLE grouped (grp int, audio bytea, mix embedding(128));
INSERT INTO grouped SELECT CASE WHEN i > 7 THEN NULL ELSE i / 3 END,
                           (SELECT data FROM clips WHERE name = 'chord'), NULL
FROM generate_series(1, 9) i;
CALL instsim_fill_embeddings('grouped', 'audio', 'mix', batch_size => 1, key_column => 'grp');
SELECT count(*) FILTER (WHERE mix IS NULL) AS left_null FROM grouped;
SELECT rows_total, rows_done, rows_null, rows_failed FROM instsim.fill_progress WHERE tbl = 'grouped'::regclass;
-- a key whose type has no ordering
CREATE TABLE unordered (k point, audio bytea, mix embedding(128));
\set VERBOSITY sqlstate
CALL instsim_fill_embeddings('unordered', 'audio', 'mix', key_column => 'k');
\set VERBOSITY default

-- ---- the caller's search_path cannot redirect the procedure ---------------
-- A role that may create objects in a schema on the caller's path plants
-- functions and operators that would win name resolution over pg_catalog's
-- (exact argument types beat the built-ins' polymorphic ones; an explicit
-- path may put pg_catalog after that schema).  Called by a superuser, none of
-- them may run.
CREATE SCHEMA planted;
CREATE FUNCTION planted.trap() RETURNS int LANGUAGE plpgsql AS
  $$BEGIN RAISE EXCEPTION 'a planted function ran as %', current_user; END$$;
CREATE FUNCTION planted.array_length(text[], integer) RETURNS integer
  LANGUAGE sql AS 'SELECT planted.trap()';
CREATE FUNCTION planted.cardinality(text[]) RETURNS integer LANGUAGE sql AS 'SELECT planted.trap()';
CREATE FUNCTION planted.format(text, regclass, name, name) RETURNS text
  LANGUAGE sql AS 'SELECT planted.trap()::text';
CREATE FUNCTION planted.set_config(text, text, boolean) RETURNS text
  LANGUAGE sql AS 'SELECT planted.trap()::text';
CREATE FUNCTION planted.int4gt(integer, integer) RETURNS boolean
  LANGUAGE sql AS 'SELECT planted.trap() > 0';
CREATE OPERATOR planted.> (LEFTARG = integer, RIGHTARG = integer, FUNCTION = planted.int4gt);
CREATE OPERATOR planted.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = planted.int4gt);
CREATE FUNCTION planted.int8pl(bigint, bigint) RETURNS bigint
  LANGUAGE sql AS 'SELECT planted.trap()::bigint';
CREATE OPERATOR planted.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = planted.int8pl);
CREATE FUNCTION planted.count(bigint) RETURNS bigint LANGUAGE sql AS 'SELECT planted.trap()::bigint';
-- a type named like the key's: the UPDATE's cast to text[] must not find it
CREATE DOMAIN planted.text AS pg_catalog.text CHECK (planted.trap() IS NOT NULL);
ALTER TABLE clips ADD COLUMN mix embedding(128);
UPDATE catalogue SET mix = NULL;
SET search_path = planted, public, pg_catalog;
CALL instsim_fill_embeddings('catalogue', 'audio', 'mix', batch_size => 3);
CALL instsim_fill_embeddings('clips', 'data', 'mix');
RESET search_path;
SELECT count(*) FILTER (WHERE mix IS NOT NULL) AS embedded FROM catalogue;
SELECT name, mix IS NOT NULL AS embedded FROM clips ORDER BY name;
-- the table's triggers still run with the caller's own search_path
CREATE TABLE fill_log (id int, path text);
CREATE FUNCTION log_fill() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO fill_log VALUES (NEW.id, current_setting('search_path')); RETURN NEW; END$$;
CREATE TRIGGER log_fill BEFORE UPDATE ON catalogue FOR EACH ROW EXECUTE FUNCTION log_fill();
UPDATE catalogue SET mix = NULL WHERE id = 1;
TRUNCATE fill_log;
SET search_path = public, pg_catalog;
CALL instsim_fill_embeddings('catalogue', 'audio', 'mix');
RESET search_path;
SELECT * FROM fill_log;
DROP TRIGGER log_fill ON catalogue;
DROP SCHEMA planted CASCADE;

-- a fill that fails releases the column's lock (the session lives on)
CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN IF NEW.id = 2 THEN RAISE EXCEPTION 'row 2 is refused'; END IF; RETURN NEW; END$$;
UPDATE catalogue SET mix = NULL WHERE id IN (1, 2);
CREATE TRIGGER refuse_row BEFORE UPDATE ON catalogue FOR EACH ROW EXECUTE FUNCTION refuse_row();
CALL instsim_fill_embeddings('catalogue', 'audio', 'mix');
SELECT count(*) AS locks_held FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
DROP TRIGGER refuse_row ON catalogue;
DROP FUNCTION refuse_row();
CALL instsim_fill_embeddings('catalogue', 'audio', 'mix');
SELECT count(*) AS locks_held FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();

-- ---- who may fill ---------------------------------------------------------
-- any role that may UPDATE the column, not only the progress table's owner;
-- its progress row is its own to see
CREATE ROLE regress_instsim_filler;
CREATE ROLE regress_instsim_other;
GRANT SELECT, UPDATE (mix) ON catalogue TO regress_instsim_filler;
GRANT SELECT ON catalogue TO regress_instsim_other;
UPDATE catalogue SET mix = NULL WHERE id IN (1, 2);
SET ROLE regress_instsim_filler;
CALL instsim_fill_embeddings('catalogue', 'audio', 'mix');
SELECT tbl, rows_total, rows_done, filled_by, finished IS NOT NULL AS finished FROM instsim.fill_progress;
SET ROLE regress_instsim_other;
SELECT count(*) AS others_see FROM instsim.fill_progress;
\set VERBOSITY sqlstate
CALL instsim_fill_embeddings('catalogue', 'audio', 'mix');
UPDATE instsim.fill_progress SET rows_done = 0;
INSERT INTO instsim.fill_progress (tbl, emb_column, model, rows_total) VALUES ('catalogue', 'x', 'mix', 1);
\set VERBOSITY default
RESET ROLE;
SELECT filled_by, rows_done FROM instsim.fill_progress;  -- untouched by the other role
REVOKE ALL ON catalogue FROM regress_instsim_filler, regress_instsim_other;
DROP ROLE regress_instsim_filler, regress_instsim_other;

-- ---- progress rows go with their table or column --------------------------
SELECT count(*) AS progress_rows FROM instsim.fill_progress;
ALTER TABLE grouped DROP COLUMN mix;
SELECT tbl::text FROM instsim.fill_progress ORDER BY 1;
DROP TABLE catalogue, clips, nokey, grouped, unordered, fill_log;
DROP FUNCTION log_fill();
SELECT count(*) AS progress_rows FROM instsim.fill_progress;
