-- ---------------------------------------------------------------------------
-- Models: per-instrument CNNs stored in a table, used by the audio functions.
-- ---------------------------------------------------------------------------
CREATE SCHEMA instsim;
GRANT USAGE ON SCHEMA instsim TO PUBLIC;

-- weights holds the model file itself (safetensors, as the trainer writes it);
-- params is its metadata (instrument, front end, layer table) for reading in
-- SQL.  builtin marks the models shipped with the extension: they are
-- re-created by CREATE EXTENSION, so pg_dump saves only the others.
CREATE TABLE instsim.model (
	name       text PRIMARY KEY,
	instrument text NOT NULL,
	created    timestamptz NOT NULL DEFAULT now(),
	params     jsonb NOT NULL,
	weights    bytea NOT NULL,
	sha256     text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	builtin    boolean NOT NULL DEFAULT false
);
ALTER TABLE instsim.model ALTER COLUMN weights SET STORAGE EXTERNAL;
COMMENT ON TABLE instsim.model IS
	'embedding models (safetensors files) by name; instsim_model_load() adds them';
SELECT pg_catalog.pg_extension_config_dump('instsim.model', 'WHERE NOT builtin');

-- A restore runs CREATE EXTENSION (which stores the shipped models) before it
-- copies the dumped rows, among them any model that replaced a shipped one
-- under the same name: the copied row takes the shipped row's place instead of
-- failing the whole COPY on the primary key (and losing every user model).
CREATE FUNCTION instsim.model_replace_shipped() RETURNS trigger
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
	IF NOT NEW.builtin THEN
		DELETE FROM instsim.model m
		WHERE m.name OPERATOR(pg_catalog.=) NEW.name AND m.builtin;
	END IF;
	RETURN NEW;
END
$fn$;
CREATE TRIGGER replace_shipped BEFORE INSERT ON instsim.model
	FOR EACH ROW EXECUTE FUNCTION instsim.model_replace_shipped();
-- Everyone may embed with the models; only the owner (or whom it grants)
-- may add, replace or remove them.
GRANT SELECT ON instsim.model TO PUBLIC;

-- Checks a model file and returns its metadata; nothing is stored.
CREATE FUNCTION instsim_model_inspect(weights bytea) RETURNS jsonb
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- Validates the file (format, shapes, checksum) and stores it under name,
-- replacing a model of that name.  Returns the file's SHA-256.
CREATE FUNCTION instsim_model_load(name text, weights bytea) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT;

-- Same, from a file on the database server.  pg_read_binary_file does the
-- privilege check: superusers, or roles granted pg_read_server_files (and
-- EXECUTE on pg_read_binary_file).
CREATE FUNCTION instsim_model_load_file(name text, path text) RETURNS text
	LANGUAGE sql VOLATILE STRICT SET search_path = pg_catalog, pg_temp
	RETURN @extschema@.instsim_model_load(name, pg_catalog.pg_read_binary_file(path));

-- A model that replaced a shipped one gives the shipped one back when dropped,
-- and a shipped one cannot be dropped: so every shipped name always exists,
-- which is what makes a restore (CREATE EXTENSION re-creates them all) lossless.
CREATE FUNCTION instsim_model_drop(name text) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT;

-- input: what the model hears, "stem" (the instrument's own signal) or "mix"
-- (the whole mix, answering for the instrument; named <instrument>_mix).
-- params stored before the key existed lack it, and those models are stems.
CREATE VIEW instsim.models AS
SELECT name, instrument, coalesce(params ->> 'input', 'stem') AS input,
	(params ->> 'embedding_dim')::int AS dims,
	pg_size_pretty(octet_length(weights)::bigint) AS size, builtin, created, sha256
FROM instsim.model;
GRANT SELECT ON instsim.models TO PUBLIC;

-- Loads the models shipped in the extension's share directory
-- (models/*.safetensors in the source tree; the file name is the model name).
-- Run by CREATE EXTENSION; calling it again refreshes the shipped rows and
-- leaves models that replaced them alone.
CREATE FUNCTION instsim_install_builtin_models() RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE;
SELECT instsim_install_builtin_models();

-- DROP EXTENSION without CASCADE refuses to drop user-loaded models with it.
CREATE FUNCTION instsim.drop_guard() RETURNS event_trigger
	AS 'MODULE_PATHNAME', 'instsim_drop_guard' LANGUAGE C;
CREATE EVENT TRIGGER instsim_drop_guard ON ddl_command_start
	WHEN TAG IN ('DROP EXTENSION') EXECUTE FUNCTION instsim.drop_guard();

-- On a Citus cluster every node has its own instsim.model: the shipped models
-- are on each (CREATE EXTENSION), a model loaded with instsim_model_load only
-- on the node that loaded it.  This copies this node's user-loaded models to
-- every worker (adding or replacing, never dropping); returns how many.
CREATE FUNCTION instsim_model_sync() RETURNS integer
	LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	m record;
	r record;
	n integer := 0;
BEGIN
	IF to_regprocedure('pg_catalog.run_command_on_workers(text, boolean)') IS NULL THEN
		RAISE EXCEPTION 'instsim_model_sync needs Citus'
			USING ERRCODE = 'feature_not_supported',
			      HINT = 'On one node there is nothing to copy to.';
	END IF;
	FOR m IN SELECT name, weights FROM instsim.model WHERE NOT builtin ORDER BY name LOOP
		FOR r IN EXECUTE 'SELECT nodename, nodeport, success, result FROM pg_catalog.run_command_on_workers($1)'
			USING format('SELECT @extschema@.instsim_model_load(%L, %L::bytea)', m.name, m.weights) LOOP
			IF NOT r.success THEN
				RAISE EXCEPTION 'copying model "%" to %:% failed: %', m.name, r.nodename, r.nodeport, r.result
					USING ERRCODE = 'connection_failure';
			END IF;
		END LOOP;
		n := n + 1;
	END LOOP;
	RETURN n;
END
$fn$;
