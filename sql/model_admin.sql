-- Models as data that survives: replacing, dropping and restoring shipped
-- models, and the extension's functions pinned against search_path tricks.
\getenv fixtures INSTSIM_FIXTURES
\getenv abs_srcdir PG_ABS_SRCDIR
\set load_fixture :abs_srcdir/sql/fixture.psql
CREATE TABLE model_file (name text, data bytea);
\set fixture_table model_file
\set file model1.safetensors
\i :load_fixture
-- the earlier tests may have replaced 'mix'; start from the shipped set
SET client_min_messages = warning;
SELECT count(instsim_model_drop(name)) >= 0 AS dropped FROM instsim.model WHERE NOT builtin;
RESET client_min_messages;
SELECT name, builtin FROM instsim.models ORDER BY name;

-- a replaced shipped model stays replaced when the shipped ones are reloaded
SELECT instsim_model_load('drums', data) AS loaded_sha FROM model_file \gset
SELECT instsim_install_builtin_models();
SELECT name, builtin, sha256 = :'loaded_sha' AS still_ours FROM instsim.model WHERE name = 'drums';

-- A restore copies dumped rows after CREATE EXTENSION has stored the shipped
-- models: a dumped replacement takes the shipped row's place.
INSERT INTO instsim.model (name, instrument, params, weights, sha256, builtin)
SELECT 'bass', instrument, params, weights, sha256, false FROM instsim.model WHERE name = 'drums';
SELECT name, builtin FROM instsim.models WHERE name IN ('bass', 'drums') ORDER BY name;

-- dropping a replacement brings the shipped model back; a shipped model
-- itself cannot be dropped (every restore would bring it back)
SELECT instsim_model_drop('bass');
SELECT name, builtin FROM instsim.models WHERE name = 'bass';
SELECT instsim_model_drop('bass');
SELECT instsim_model_drop('drums'), instsim_model_drop('no such model');
SELECT count(*) AS replaced FROM instsim.model WHERE NOT builtin;
\set VERBOSITY sqlstate
SELECT instsim_model_drop('mix');
SELECT instsim_model_sync();   -- without Citus there is no worker to copy to
\set VERBOSITY default

-- Every SQL or PL/pgSQL function of the extension runs with a pinned
-- search_path; the one procedure (which commits, so cannot carry SET) calls
-- only schema-qualified functions that do.
SELECT p.oid::regprocedure AS unpinned
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'instsim'
JOIN pg_language l ON l.oid = p.prolang
WHERE l.lanname IN ('sql', 'plpgsql') AND p.prokind <> 'p'
  AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)
ORDER BY 1;
DROP TABLE model_file;
