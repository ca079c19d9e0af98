-- ---------------------------------------------------------------------------
-- Filling a whole catalogue in committed batches: an embedding column
-- (instsim_fill_embeddings, here) or a segment table (instsim_fill_segments,
-- 52_fill_segments.sql), with the same walk, progress row and lock.
--
-- Security: the procedure is called by whoever may UPDATE the table, often a
-- superuser, with that caller's search_path, which may name a schema where
-- anyone can create functions and operators.  So every name here is either
-- schema-qualified or resolved while search_path is pinned to pg_catalog
-- (the functions' SET clauses); a procedure that COMMITs cannot carry such a
-- clause, so instsim_fill_embeddings itself only calls qualified functions.
-- The UPDATE that embeds is built fully qualified (the key's operators by
-- OID) and runs under the caller's own search_path, so that the table's
-- triggers see the environment they were written for.
-- ---------------------------------------------------------------------------

-- One row per (table, column) being filled; updated and committed after every
-- batch, so other sessions can watch progress while the procedure runs.
-- Any role that may UPDATE a column may fill it.  Roles read the table (row-
-- level security shows a row to the role that filled and to roles that may
-- update the table) but write it only through instsim.fill_claim and
-- instsim.fill_report: granting UPDATE to PUBLIC would also let anyone LOCK
-- it and so stall every DROP TABLE (the event trigger below deletes from it).
CREATE TABLE instsim.fill_progress (
	tbl          regclass NOT NULL,
	emb_column   name NOT NULL,
	model        text NOT NULL,
	rows_total   bigint NOT NULL,
	rows_done    bigint NOT NULL DEFAULT 0,
	rows_null    bigint NOT NULL DEFAULT 0,
	rows_failed  bigint NOT NULL DEFAULT 0,
	started      timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated      timestamptz NOT NULL DEFAULT pg_catalog.now(),
	finished     timestamptz,
	filled_by    name NOT NULL,
	filled_by_pid integer NOT NULL,  -- the backend that may report progress
	PRIMARY KEY (tbl, emb_column)
);
COMMENT ON TABLE instsim.fill_progress IS
	'progress of instsim_fill_embeddings(): rows embedded so far, per table and column';
GRANT SELECT ON instsim.fill_progress TO PUBLIC;
ALTER TABLE instsim.fill_progress ENABLE ROW LEVEL SECURITY;
CREATE POLICY fill_progress_read ON instsim.fill_progress FOR SELECT
	USING (filled_by OPERATOR(pg_catalog.=) CURRENT_USER
	       OR pg_catalog.has_any_column_privilege(tbl, 'UPDATE'));

-- Starts (or restarts) the progress row of a fill by role, from this backend.
-- SECURITY DEFINER, so it cannot tell who called it; it checks instead that
-- the session may act as role (is a member of it, as SET ROLE requires) and
-- that role has the privilege on the column that the fill needs (UPDATE for
-- an embedding column, INSERT for a segment table): nobody can claim a
-- column they could not fill themselves.
CREATE FUNCTION instsim.fill_claim(tbl regclass, emb_column name, model text, total bigint, role name,
	privilege text DEFAULT 'UPDATE') RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
	IF privilege IS DISTINCT FROM 'UPDATE' AND privilege IS DISTINCT FROM 'INSERT' THEN
		RAISE EXCEPTION 'a fill needs UPDATE or INSERT, not %', privilege
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT (pg_has_role(session_user, role, 'MEMBER')
	        AND has_column_privilege(role, tbl, emb_column, privilege)) THEN
		RAISE EXCEPTION 'permission denied to fill %.%', tbl, emb_column
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	INSERT INTO instsim.fill_progress AS p (tbl, emb_column, model, rows_total, filled_by, filled_by_pid)
	VALUES (tbl, emb_column, model, total, role, pg_backend_pid())
	ON CONFLICT ON CONSTRAINT fill_progress_pkey DO UPDATE
		SET model = EXCLUDED.model, rows_total = EXCLUDED.rows_total, rows_done = 0,
		    rows_null = 0, rows_failed = 0, started = now(), updated = now(), finished = NULL,
		    filled_by = EXCLUDED.filled_by, filled_by_pid = EXCLUDED.filled_by_pid;
END
$fn$;

-- Reports progress, for the row this backend claimed only.
CREATE FUNCTION instsim.fill_report(tbl regclass, emb_column name, done bigint, nulls bigint,
	failed bigint, finished boolean) RETURNS void
	LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	UPDATE instsim.fill_progress p
	SET rows_done = done, rows_null = nulls, rows_failed = failed, updated = now(),
	    finished = CASE WHEN fill_report.finished THEN now() END
	WHERE p.tbl = fill_report.tbl AND p.emb_column = fill_report.emb_column
	  AND p.filled_by_pid = pg_backend_pid();
END;

-- Everything a fill carries from one committed batch to the next.  A fill
-- walks tbl in key order and, batch by batch, does the rows that todo_pred
-- selects with the statement work_head || <those rows' predicate> ||
-- work_tail, which returns (rows done, of them left without an embedding)
-- and gets the batch's keys as $1, model as $2 and model_sha as $3.
CREATE TYPE instsim.fill_job AS (
	tbl          regclass,  -- the table walked
	progress_tbl regclass,  -- the fill's row in fill_progress, and its lock
	progress_column name,
	model        text,      -- a model name, or the text of a text[] of them
	model_sha    text,      -- the version(s) every row is embedded with
	batch_size   integer,
	key_column   name,
	key_type     text,      -- the key's type, qualified
	key_eq       text,      -- OPERATOR(schema.=) of the key's btree family
	key_gt       text,      -- OPERATOR(schema.>)
	caller_path  text,      -- the caller's search_path, for the statement
	todo_pred    text,      -- the rows still to do, over tbl's columns
	work_head    text,
	work_tail    text,
	last_key     text,      -- the walk in key order has done every key <= this
	null_ctids   tid[],     -- rows with a NULL key, done by row address after the walk
	null_pos     integer,   -- how many of null_ctids are done
	done         bigint,
	nulls        bigint,
	failed       bigint,
	t0           timestamptz,
	finished     boolean
);

-- The advisory lock that keeps two sessions from filling one column at once:
-- (instsim's fill class, hash of table OID and column).
CREATE FUNCTION instsim.fill_lock_key(tbl regclass, emb_column name, OUT k1 integer, OUT k2 integer)
	LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
	RETURN (hashtext('instsim_fill_embeddings'), hashtext(tbl::oid::text || '/' || emb_column));

-- The backend that holds the column's fill lock, NULL if none.
CREATE FUNCTION instsim.fill_lock_holder(tbl regclass, emb_column name) RETURNS integer
	LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT l.pid FROM pg_locks l, instsim.fill_lock_key(tbl, emb_column) k
	WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
	  AND l.classid = k.k1::oid AND l.objid = k.k2::oid;
END;

CREATE FUNCTION instsim.fill_unlock(tbl regclass, emb_column name) RETURNS void
	LANGUAGE sql VOLATILE STRICT SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT pg_advisory_unlock(k.k1, k.k2) FROM instsim.fill_lock_key(tbl, emb_column) k;
END;

-- A new job over tbl: checks batch_size and resolves the key (the primary
-- key by default), its type and its operators.
CREATE FUNCTION instsim.fill_job_new(tbl regclass, batch_size integer, key_column name,
	caller_path text) RETURNS instsim.fill_job
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	job instsim.fill_job;
BEGIN
	IF batch_size < 1 THEN
		RAISE EXCEPTION 'batch_size must be at least 1, not %', batch_size
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	job.key_column := key_column;
	IF job.key_column IS NULL THEN
		job.key_column := instsim.primary_key_column(tbl);
		IF job.key_column IS NULL THEN
			RAISE EXCEPTION 'table % has no single-column primary key', tbl
				USING ERRCODE = 'invalid_parameter_value',
				      HINT = 'Pass key_column => a column to walk the table in order (best a unique one).';
		END IF;
	END IF;
	-- by schema: format_type leaves pg_catalog's types bare, and the statement
	-- that casts to it runs under the caller's search_path
	SELECT format('%I.%I', n.nspname, t.typname) INTO job.key_type
	FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace n ON n.oid = t.typnamespace
	WHERE a.attrelid = tbl AND a.attname = job.key_column AND NOT a.attisdropped;
	IF job.key_type IS NULL THEN
		RAISE EXCEPTION 'column "%" does not exist in %', job.key_column, tbl
			USING ERRCODE = 'undefined_column';
	END IF;
	SELECT k.eq, k.gt INTO job.key_eq, job.key_gt
	FROM instsim.key_operators(tbl, job.key_column) k;
	IF job.key_gt IS NULL THEN
		RAISE EXCEPTION 'key column "%" of type % has no btree ordering', job.key_column, job.key_type
			USING ERRCODE = 'undefined_function',
			      HINT = 'Pass key_column => a column of an ordered type (integer, text, uuid, ...).';
	END IF;
	job.tbl := tbl;
	job.batch_size := batch_size;
	job.caller_path := caller_path;
	job.done := 0;
	job.nulls := 0;
	job.failed := 0;
	job.finished := false;
	RETURN job;
END
$fn$;

-- Counts the rows to do, writes the progress row and takes the lock: the end
-- of every start, once the arguments are checked.  The lock comes last,
-- after everything that can fail: an error rolls back the progress row, but
-- not a session-level lock (held by this session already only after a fill
-- whose COMMIT failed).
CREATE FUNCTION instsim.fill_job_claim(job instsim.fill_job, privilege text) RETURNS instsim.fill_job
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	lk record;
	holder integer;
	total bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM %s WHERE %s', job.tbl, job.todo_pred) INTO total;
	PERFORM instsim.fill_claim(job.progress_tbl, job.progress_column, job.model, total,
	                           CURRENT_USER, privilege);
	holder := instsim.fill_lock_holder(job.progress_tbl, job.progress_column);
	SELECT * INTO lk FROM instsim.fill_lock_key(job.progress_tbl, job.progress_column);
	IF holder IS DISTINCT FROM pg_backend_pid() AND NOT pg_try_advisory_lock(lk.k1, lk.k2) THEN
		RAISE EXCEPTION '%.% is being filled by another session (backend PID %)',
			job.progress_tbl, job.progress_column, holder
			USING ERRCODE = 'lock_not_available',
			      HINT = 'Watch it in instsim.fill_progress, or wait for it to finish.';
	END IF;
	job.t0 := clock_timestamp();
	RETURN job;
END
$fn$;

-- The SHA-256 of each model, in order, as the text of a text[]; 42704 for
-- a model that does not exist.
CREATE FUNCTION instsim.fill_model_shas(models text[]) RETURNS text
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	missing text;
BEGIN
	SELECT m.name INTO missing FROM unnest(models) m(name)
	WHERE NOT EXISTS (SELECT FROM instsim.model s WHERE s.name = m.name) LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'instsim model "%" does not exist', missing
			USING ERRCODE = 'undefined_object',
			      HINT = 'SELECT name FROM instsim.models lists the models.';
	END IF;
	RETURN (SELECT array_agg(s.sha256 ORDER BY m.i)
	        FROM unnest(models) WITH ORDINALITY m(name, i) JOIN instsim.model s ON s.name = m.name)::text;
END
$fn$;

-- The job of instsim_fill_embeddings: checks the arguments, and UPDATEs
-- emb_column of the rows where it is NULL and the audio is not.  Runs as
-- the caller: the privileges are the caller's.
CREATE FUNCTION instsim.fill_start(tbl regclass, audio_column name, emb_column name,
	model text, batch_size integer, key_column name, caller_path text) RETURNS instsim.fill_job
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	job instsim.fill_job := instsim.fill_job_new(tbl, batch_size, key_column, caller_path);
BEGIN
	-- as the UPDATE would, and before counting the rows (fill_claim checks
	-- again: it can be called directly)
	IF NOT has_column_privilege(tbl, emb_column, 'UPDATE') THEN
		RAISE EXCEPTION 'permission denied to fill %.%', tbl, emb_column
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	job.progress_tbl := tbl;
	job.progress_column := emb_column;
	job.model := model;
	job.model_sha := (instsim.fill_model_shas(ARRAY[model])::text[])[1];
	job.todo_pred := format('%I IS NULL AND %I IS NOT NULL', emb_column, audio_column);
	job.work_head := format($q$
		WITH upd AS (
			UPDATE %1$s SET %2$I = @extschema@.instsim_embed(%3$I, $2, $3)
			WHERE $q$, tbl, emb_column, audio_column);
	job.work_tail := format($q$
			RETURNING %1$I IS NULL AS still_null)
		SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE still_null) FROM upd$q$,
		emb_column);
	RETURN instsim.fill_job_claim(job, 'UPDATE');
END
$fn$;

-- Does the rows whose key (or, with key_pred on ctid, whose address) is in
-- keys.  Returns (rows done, of them left NULL, of them failed).  A batch
-- whose audio is bad somewhere is redone key by key, so that only the bad
-- rows are skipped (with a WARNING).
CREATE FUNCTION instsim.fill_rows(job instsim.fill_job, key_pred text, keys text[],
	OUT done bigint, OUT nulls bigint, OUT failed bigint)
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	where_sql text := format('%s AND (%s)', key_pred, job.todo_pred);
	work_sql text := job.work_head || where_sql || job.work_tail;
	one text;
	n bigint;
	n_null bigint;
BEGIN
	done := 0;
	nulls := 0;
	failed := 0;
	-- instsim_embed's high cost would have every batch JIT-compiled, for
	-- nothing (the time is in the C function)
	PERFORM pg_catalog.set_config('jit', 'off', true);
	BEGIN
		PERFORM pg_catalog.set_config('search_path', job.caller_path, true);
		EXECUTE work_sql USING keys, job.model, job.model_sha INTO done, nulls;
		PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
	EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
		FOREACH one IN ARRAY keys LOOP
			BEGIN
				PERFORM pg_catalog.set_config('search_path', job.caller_path, true);
				EXECUTE work_sql USING ARRAY[one], job.model, job.model_sha INTO n, n_null;
				PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
				done := done + n;
				nulls := nulls + n_null;
			EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
				RAISE WARNING 'instsim: %.% = %: %', job.tbl, job.key_column, one, SQLERRM;
				EXECUTE format('SELECT pg_catalog.count(*) FROM %s WHERE %s', job.tbl, where_sql)
					USING ARRAY[one] INTO n;
				done := done + n;
				failed := failed + n;
			END;
		END LOOP;
	END;
END
$fn$;

-- One committed batch of a fill: the next batch_size distinct keys after
-- last_key; when the keys are exhausted, the rows whose key is NULL, by
-- address; then the end (progress row finished, lock released).
-- (extra_float_digits: keys travel as text and must come back equal)
CREATE FUNCTION instsim.fill_batch(job instsim.fill_job) RETURNS instsim.fill_job
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET extra_float_digits = 3 AS $fn$
DECLARE
	keys text[];
	key_pred text;
	r record;
BEGIN
	IF job.null_ctids IS NULL THEN
		EXECUTE format($q$
			SELECT array_agg(key::text ORDER BY key) FROM (
				SELECT DISTINCT %1$I AS key FROM %2$s
				WHERE (%3$s) AND %1$I IS NOT NULL
				  AND ($1 IS NULL OR %1$I %4$s $1::%5$s)
				ORDER BY 1 LIMIT $2) b$q$,
			job.key_column, job.tbl, job.todo_pred, job.key_gt, job.key_type)
		USING job.last_key, job.batch_size INTO keys;
		IF keys IS NOT NULL THEN
			job.last_key := keys[array_length(keys, 1)];
			key_pred := format('%I %s ANY ($1::%s[])', job.key_column, job.key_eq, job.key_type);
		ELSE
			EXECUTE format('SELECT coalesce(array_agg(ctid), ''{}'') FROM %s WHERE %I IS NULL AND (%s)',
			               job.tbl, job.key_column, job.todo_pred)
			INTO job.null_ctids;
			job.null_pos := 0;
			IF cardinality(job.null_ctids) > 0 THEN
				RAISE NOTICE 'instsim: % rows of % have a NULL %; they are embedded last, by row address',
					cardinality(job.null_ctids), job.tbl, job.key_column;
			END IF;
		END IF;
	END IF;
	IF keys IS NULL THEN
		keys := job.null_ctids[job.null_pos + 1 : job.null_pos + job.batch_size]::text[];
		job.null_pos := job.null_pos + cardinality(keys);
		key_pred := format('ctid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.tid[]) AND %I IS NULL',
		                   job.key_column);
	END IF;

	IF cardinality(keys) = 0 THEN
		PERFORM instsim.fill_report(job.progress_tbl, job.progress_column, job.done, job.nulls,
		                            job.failed, true);
		PERFORM instsim.fill_unlock(job.progress_tbl, job.progress_column);
		job.finished := true;
		RETURN job;
	END IF;

	SELECT * INTO r FROM instsim.fill_rows(job, key_pred, keys);
	job.done := job.done + r.done;
	job.nulls := job.nulls + r.nulls;
	job.failed := job.failed + r.failed;
	PERFORM instsim.fill_report(job.progress_tbl, job.progress_column, job.done, job.nulls,
	                            job.failed, false);
	RAISE NOTICE 'instsim: %/% rows embedded (% rows/s)%', job.done,
		(SELECT p.rows_total FROM instsim.fill_progress p
		 WHERE p.tbl = job.progress_tbl AND p.emb_column = job.progress_column),
		round(job.done / greatest(extract(epoch FROM clock_timestamp() - job.t0), 1e-3)::numeric, 1),
		CASE WHEN job.nulls > 0 THEN format(', %s with no audible segment', job.nulls) ELSE '' END
		|| CASE WHEN job.failed > 0 THEN format(', %s failed', job.failed) ELSE '' END;
	RETURN job;
END
$fn$;

-- A batch that fails releases the column's lock before the error goes on:
-- a session-level lock outlives the transaction, and the session may well
-- live on (a connection pool).
CREATE FUNCTION instsim.fill_step(job instsim.fill_job) RETURNS instsim.fill_job
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
	RETURN instsim.fill_batch(job);
EXCEPTION WHEN OTHERS OR query_canceled THEN
	PERFORM instsim.fill_unlock(job.progress_tbl, job.progress_column);
	RAISE;
END
$fn$;

-- Runs a started job to its end, one committed batch at a time.  A
-- procedure, so that it can commit (and so without a SET clause: it calls
-- only qualified functions that have one).
CREATE PROCEDURE instsim.fill_run(job instsim.fill_job)
LANGUAGE plpgsql AS $proc$
BEGIN
	COMMIT;
	LOOP
		job := instsim.fill_step(job);
		COMMIT;
		EXIT WHEN job.finished;
	END LOOP;
END
$proc$;

-- Embeds audio_column into emb_column for every row where emb_column is NULL,
-- batch_size keys per transaction, in key order (rows sharing a key value go
-- together; rows whose key is NULL come last).  Interrupted, it can simply be
-- called again: committed batches stay done.  Rows whose audio has no
-- non-silent segment stay NULL (instsim_embed returns NULL; rows_null counts
-- them).  A row whose audio cannot be decoded is skipped with a WARNING and
-- counted in rows_failed; the rest of its batch is still embedded.  Must be
-- called outside an explicit transaction block (CALL in autocommit mode),
-- since it commits.  The table's triggers run as the caller, with the
-- caller's search_path.
CREATE PROCEDURE instsim_fill_embeddings(
	tbl regclass,
	audio_column name,
	emb_column name,
	model text DEFAULT 'mix',
	batch_size integer DEFAULT 20,
	key_column name DEFAULT NULL)
LANGUAGE plpgsql AS $proc$
BEGIN
	-- called inside a transaction block, fail here, before any lock is taken
	COMMIT;
	CALL instsim.fill_run(instsim.fill_start(tbl, audio_column, emb_column, model, batch_size,
	                                         key_column, pg_catalog.current_setting('search_path')));
END
$proc$;

-- A dropped table or column takes its progress row with it.  SECURITY
-- DEFINER: the role dropping a table may not see rows that others wrote.
CREATE FUNCTION instsim.fill_progress_forget() RETURNS event_trigger
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
	DELETE FROM instsim.fill_progress p
	USING pg_event_trigger_dropped_objects() d
	WHERE d.classid = 'pg_class'::regclass AND p.tbl::oid = d.objid
	  AND (d.objsubid = 0 OR p.emb_column = d.address_names[3]);
END
$fn$;
CREATE EVENT TRIGGER instsim_fill_progress_forget ON sql_drop
	EXECUTE FUNCTION instsim.fill_progress_forget();
