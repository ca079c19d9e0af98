-- ---------------------------------------------------------------------------
-- Filling a segment table for moment search (83_moments.sql): one row per
-- track and 3-s segment, (track key, start_s, one embedding column per
-- instrument), from instsim_segments, in committed batches of tracks, with
-- instsim_fill_embeddings' walk, progress row, lock and error handling
-- (50_fill.sql).  A track is done once it has a segment row; the INSERT
-- runs as the caller, under the caller's search_path (its triggers).
-- ---------------------------------------------------------------------------

-- The job: checks the arguments and builds the INSERT of the segments of the
-- tracks that have audio and no segment row yet.  Columns that share an
-- audio column are embedded from one decode (instsim_segments with several
-- models); the audio columns' segments are matched by window number, so an
-- instrument silent in a window leaves its column NULL in that row.
CREATE FUNCTION instsim.fill_segments_start(tbl regclass, audio_columns name[], seg_tbl regclass,
	emb_columns name[], models text[], batch_size integer, key_column name, track_column name,
	caller_path text) RETURNS instsim.fill_job
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	job instsim.fill_job := instsim.fill_job_new(tbl, batch_size, key_column, caller_path);
	st record;
	n integer;
	audio name[];     -- per embedding column
	groups name[];    -- the distinct audio columns
	perm integer[];   -- the embedding columns, grouped by audio column
	lo integer := 1;
	hi integer;
	from_sql text := '';
	starts text[];
	g integer;
	col name;
	typ regtype;
BEGIN
	PERFORM instsim.check_embedding_columns(seg_tbl, emb_columns);
	n := cardinality(emb_columns);
	models := coalesce(models, emb_columns::text[]);
	PERFORM instsim.check_list('models', models);
	PERFORM instsim.check_list('audio_columns', audio_columns);
	IF cardinality(models) <> n OR cardinality(audio_columns) NOT IN (1, n) THEN
		RAISE EXCEPTION 'give one model per embedding column and one audio column for all or per column '
		                '(% columns, % models, % audio columns)', n, cardinality(models), cardinality(audio_columns)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOREACH col IN ARRAY audio_columns LOOP
		typ := (SELECT a.atttypid FROM pg_attribute a
		        WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped);
		IF typ IS DISTINCT FROM 'bytea'::regtype THEN
			RAISE EXCEPTION 'column "%" of % is %', col, tbl, coalesce('of type ' || typ, 'missing')
				USING ERRCODE = CASE WHEN typ IS NULL THEN 'undefined_column' ELSE 'datatype_mismatch' END,
				      HINT = 'audio_columns name bytea columns of the track table.';
		END IF;
	END LOOP;
	SELECT * INTO st FROM instsim.segment_track(seg_tbl, track_column);
	IF st.track_type IS DISTINCT FROM
	   (SELECT a.atttypid FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = job.key_column) THEN
		RAISE EXCEPTION 'track column %.% is of type %, the key %.% of type %', seg_tbl, st.tc,
			st.track_type, tbl, job.key_column, format_type(
				(SELECT a.atttypid FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = job.key_column), NULL)
			USING ERRCODE = 'datatype_mismatch', HINT = 'Give both the same type.';
	END IF;
	-- as the INSERT would, and before counting the rows
	IF NOT has_column_privilege(seg_tbl, st.tc, 'INSERT') THEN
		RAISE EXCEPTION 'permission denied to fill %', seg_tbl USING ERRCODE = 'insufficient_privilege';
	END IF;

	audio := CASE WHEN cardinality(audio_columns) = 1 THEN array_fill(audio_columns[1], ARRAY[n])
	              ELSE audio_columns END;
	groups := ARRAY(SELECT a FROM unnest(audio) WITH ORDINALITY u(a, i) GROUP BY a ORDER BY min(i));
	perm := ARRAY(SELECT i FROM unnest(audio) WITH ORDINALITY u(a, i)
	              ORDER BY array_position(groups, a), i);
	-- the statement's $2 and $3: models and versions in perm order, so that
	-- each audio column's models are one slice
	job.model := ARRAY(SELECT models[i] FROM unnest(perm) WITH ORDINALITY p(i, o) ORDER BY o)::text;
	job.model_sha := instsim.fill_model_shas(job.model::text[]);
	FOR g IN 1 .. cardinality(groups) LOOP
		hi := lo + (SELECT count(*) FROM unnest(audio) a WHERE a = groups[g])::integer - 1;
		from_sql := from_sql || CASE WHEN g > 1 THEN ' FULL JOIN ' ELSE '' END
			|| format('@extschema@.instsim_segments(todo.a%1$s, ($2::pg_catalog.text[])[%2$s:%3$s], '
			          '($3::pg_catalog.text[])[%2$s:%3$s]) g%1$s', g, lo, hi)
			|| CASE WHEN g > 1 THEN ' USING (seg)' ELSE '' END;
		starts := starts || format('g%s.start_s', g);
		lo := hi + 1;
	END LOOP;

	job.progress_tbl := seg_tbl;
	job.progress_column := st.tc;
	job.todo_pred := format('%1$I IS NOT NULL AND (%2$s) AND NOT EXISTS (SELECT FROM %3$s s WHERE s.%4$I %5$s %6$s.%1$I)',
		job.key_column, (SELECT string_agg(format('%I IS NOT NULL', a), ' OR ') FROM unnest(groups) a),
		seg_tbl, st.tc, job.key_eq, tbl);
	job.work_head := format('WITH todo AS (SELECT %I AS k, %s FROM %s WHERE ', job.key_column,
		(SELECT string_agg(format('%I AS a%s', a, i), ', ' ORDER BY i) FROM unnest(groups) WITH ORDINALITY u(a, i)),
		tbl);
	job.work_tail := format($q$),
		ins AS (
			INSERT INTO %1$s (%2$I, start_s, %3$s)
			SELECT todo.k, x.start_s, %4$s
			FROM todo CROSS JOIN LATERAL (SELECT coalesce(%5$s) AS start_s, %6$s FROM %7$s) x
			RETURNING %2$I AS k)
		SELECT pg_catalog.count(*),
		       pg_catalog.count(*) FILTER (WHERE NOT EXISTS (SELECT FROM ins WHERE ins.k %8$s todo.k))
		FROM todo$q$,
		seg_tbl, st.tc,
		(SELECT string_agg(format('%I', emb_columns[p.i]), ', ' ORDER BY p.o)
		 FROM unnest(perm) WITH ORDINALITY p(i, o)),
		(SELECT string_agg(format('x.e%s', o), ', ' ORDER BY o) FROM generate_series(1, n) o),
		array_to_string(starts, ', '),
		-- column o of perm is model o of its group's slice
		(SELECT string_agg(format('g%s.embs[%s] AS e%s', gi, o - first_o + 1, o), ', ' ORDER BY o)
		 FROM (SELECT p.o, array_position(groups, audio[p.i]) AS gi,
		              min(p.o) OVER (PARTITION BY audio[p.i]) AS first_o
		       FROM unnest(perm) WITH ORDINALITY p(i, o)) q),
		from_sql, job.key_eq);
	RETURN instsim.fill_job_claim(job, 'INSERT');
END
$fn$;

-- Fills seg_tbl with the segments of every track of tbl that has audio and
-- no segment row yet: emb_columns[i] from the audio in audio_columns[i] (or
-- audio_columns[1] for all) under models[i] (by default the model named like
-- the column), batch_size tracks per committed transaction, in key order.
-- Resumable like instsim_fill_embeddings; tracks with no audible segment
-- (rows_null) or undecodable audio (rows_failed, with a WARNING) get no row
-- and are tried again by the next call.  Progress is the row (seg_tbl, its
-- track column) of instsim.fill_progress.  Create the index on the segment
-- table's columns afterwards (a bulk build is faster than inserts).
CREATE PROCEDURE instsim_fill_segments(
	tbl regclass,
	audio_columns name[],
	seg_tbl regclass,
	emb_columns name[],
	models text[] DEFAULT NULL,
	batch_size integer DEFAULT 20,
	key_column name DEFAULT NULL,
	track_column name DEFAULT NULL)
LANGUAGE plpgsql AS $proc$
BEGIN
	-- called inside a transaction block, fail here, before any lock is taken
	COMMIT;
	CALL instsim.fill_run(instsim.fill_segments_start(tbl, audio_columns, seg_tbl, emb_columns,
		models, batch_size, key_column, track_column, pg_catalog.current_setting('search_path')));
END
$proc$;
