-- ---------------------------------------------------------------------------
-- Filling an embedding column of a whole catalogue in committed batches.
-- ---------------------------------------------------------------------------

-- One row per (table, column) being filled; updated and committed after every
-- batch, so other sessions can watch progress while the procedure runs.
CREATE TABLE instsim.fill_progress (
	tbl          regclass NOT NULL,
	emb_column   name NOT NULL,
	model        text NOT NULL,
	rows_total   bigint NOT NULL,
	rows_done    bigint NOT NULL DEFAULT 0,
	rows_null    bigint NOT NULL DEFAULT 0,
	rows_failed  bigint NOT NULL DEFAULT 0,
	started      timestamptz NOT NULL DEFAULT now(),
	updated      timestamptz NOT NULL DEFAULT now(),
	finished     timestamptz,
	PRIMARY KEY (tbl, emb_column)
);
COMMENT ON TABLE instsim.fill_progress IS
	'progress of instsim_fill_embeddings(): rows embedded so far, per table and column';
GRANT SELECT ON instsim.fill_progress TO PUBLIC;

-- Embeds audio_column into emb_column for every row where emb_column is NULL,
-- batch_size rows per transaction, in key order.  Interrupted, it can simply
-- be called again: committed batches stay done.  Rows whose audio has no
-- non-silent segment stay NULL (instsim_embed returns NULL; rows_null counts
-- them).  A row whose audio cannot be decoded is skipped with a WARNING and
-- counted in rows_failed; the rest of its batch is still embedded.  Must be
-- called outside an explicit transaction block (CALL in autocommit mode),
-- since it commits.
CREATE PROCEDURE instsim_fill_embeddings(
	tbl regclass,
	audio_column name,
	emb_column name,
	model text DEFAULT 'mix',
	batch_size integer DEFAULT 20,
	key_column name DEFAULT NULL)
LANGUAGE plpgsql AS $proc$
DECLARE
	k name := key_column;
	k_type text;
	keys text[];
	last_key text;
	one text;
	update_sql text;
	total bigint;
	done bigint := 0;
	nulls bigint := 0;
	failed bigint := 0;
	n_null bigint;
	t0 timestamptz := clock_timestamp();
BEGIN
	IF batch_size < 1 THEN
		RAISE EXCEPTION 'batch_size must be at least 1, not %', batch_size
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF k IS NULL THEN
		SELECT a.attname INTO k
		FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE i.indrelid = tbl AND i.indisprimary AND i.indnkeyatts = 1;
		IF k IS NULL THEN
			RAISE EXCEPTION 'table % has no single-column primary key', tbl
				USING ERRCODE = 'invalid_parameter_value',
				      HINT = 'Pass key_column => a unique, not-null column to walk the table in order.';
		END IF;
	END IF;
	SELECT format_type(atttypid, atttypmod) INTO k_type
	FROM pg_attribute WHERE attrelid = tbl AND attname = k AND NOT attisdropped;
	IF k_type IS NULL THEN
		RAISE EXCEPTION 'column "%" does not exist in %', k, tbl USING ERRCODE = 'undefined_column';
	END IF;

	EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NULL AND %I IS NOT NULL',
	               tbl, emb_column, audio_column) INTO total;
	INSERT INTO instsim.fill_progress AS p (tbl, emb_column, model, rows_total)
	VALUES (tbl, emb_column, model, total)
	ON CONFLICT ON CONSTRAINT fill_progress_pkey DO UPDATE
		SET model = EXCLUDED.model, rows_total = EXCLUDED.rows_total, rows_done = 0,
		    rows_null = 0, rows_failed = 0, started = now(), updated = now(), finished = NULL;
	COMMIT;

	-- $1: keys (text[]) of the rows to embed; returns how many stayed NULL
	update_sql := format($q$
		WITH upd AS (
			UPDATE %1$s SET %2$I = instsim_embed(%3$I, $2)
			WHERE %4$I = ANY ($1::%5$s[])
			RETURNING %2$I IS NULL AS still_null)
		SELECT count(*) FILTER (WHERE still_null) FROM upd$q$,
		tbl, emb_column, audio_column, k, k_type);
	LOOP
		EXECUTE format($q$
			SELECT array_agg(key::text ORDER BY key) FROM (
				SELECT %1$I AS key FROM %2$s
				WHERE %3$I IS NULL AND %4$I IS NOT NULL AND ($1 IS NULL OR %1$I > $1::%5$s)
				ORDER BY %1$I LIMIT $2) b$q$,
			k, tbl, emb_column, audio_column, k_type)
		USING last_key, batch_size INTO keys;
		EXIT WHEN keys IS NULL;
		last_key := keys[array_length(keys, 1)];
		-- instsim_embed's high cost would have every batch JIT-compiled, for
		-- nothing (the time is in the C function); local to this transaction
		PERFORM set_config('jit', 'off', true);
		BEGIN
			EXECUTE update_sql USING keys, model INTO n_null;
			nulls := nulls + n_null;
		EXCEPTION WHEN invalid_binary_representation OR invalid_parameter_value
		               OR program_limit_exceeded THEN
			-- some audio in the batch is bad: redo it row by row to skip just those
			FOREACH one IN ARRAY keys LOOP
				BEGIN
					EXECUTE update_sql USING ARRAY[one], model INTO n_null;
					nulls := nulls + n_null;
				EXCEPTION WHEN invalid_binary_representation OR invalid_parameter_value
				               OR program_limit_exceeded THEN
					RAISE WARNING 'instsim: %.% = %: %', tbl, k, one, SQLERRM;
					failed := failed + 1;
				END;
			END LOOP;
		END;
		done := done + array_length(keys, 1);
		UPDATE instsim.fill_progress p
		SET rows_done = done, rows_null = nulls, rows_failed = failed, updated = now()
		WHERE p.tbl = instsim_fill_embeddings.tbl AND p.emb_column = instsim_fill_embeddings.emb_column;
		COMMIT;
		RAISE NOTICE 'instsim: %/% rows embedded (% rows/s)%', done, total,
			round(done / greatest(extract(epoch FROM clock_timestamp() - t0), 1e-3)::numeric, 1),
			CASE WHEN nulls > 0 THEN format(', %s with no audible segment', nulls) ELSE '' END
			|| CASE WHEN failed > 0 THEN format(', %s failed', failed) ELSE '' END;
	END LOOP;
	UPDATE instsim.fill_progress p SET finished = now(), updated = now()
	WHERE p.tbl = instsim_fill_embeddings.tbl AND p.emb_column = instsim_fill_embeddings.emb_column;
	COMMIT;
END
$proc$;
