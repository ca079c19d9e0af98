-- ---------------------------------------------------------------------------
-- Checking the arguments of the functions that search a user's table
-- (instsim_like and the catalogue questions, 80_catalogue.sql onwards), with
-- the same errors everywhere.
-- ---------------------------------------------------------------------------

-- The key column of a search: key_column, or else the table's one-column
-- primary key; its type, and its btree equality qualified by schema.  With
-- given, the type of the keys the caller passed (named what in the error),
-- refuses keys of another type than the column's: a narrower one would fail
-- on other rows' keys, a different one would compare otherwise.
CREATE FUNCTION instsim.search_key(tbl regclass, key_column name, what text DEFAULT NULL,
	given regtype DEFAULT NULL, OUT kc name, OUT key_type regtype, OUT eq text)
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
	kc := coalesce(key_column, instsim.primary_key_column(tbl));
	IF kc IS NULL THEN
		RAISE EXCEPTION '% has no single-column primary key', tbl
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Pass key_column => the column that identifies its rows (a view has no primary key).';
	END IF;
	key_type := (SELECT a.atttypid FROM pg_attribute a
	             WHERE a.attrelid = tbl AND a.attname = kc AND a.attnum > 0 AND NOT a.attisdropped);
	IF key_type IS NULL THEN
		RAISE EXCEPTION 'column "%" of % does not exist', kc, tbl USING ERRCODE = 'undefined_column';
	END IF;
	IF what IS NOT NULL AND given IS DISTINCT FROM key_type THEN
		RAISE EXCEPTION '% is of type %, column %.% of type %', what, given, tbl, kc, key_type
			USING ERRCODE = 'datatype_mismatch', HINT = 'Cast the key to the column''s type.';
	END IF;
	eq := (SELECT o.eq FROM instsim.key_operators(tbl, kc) o);
	IF eq IS NULL THEN
		RAISE EXCEPTION 'key column "%" of % has type %, which has no btree equality', kc, tbl, key_type
			USING ERRCODE = 'undefined_function',
			      HINT = 'Pass key_column => a column of a comparable type (integer, text, uuid, ...).';
	END IF;
END
$fn$;

-- The distance operator of a metric, qualified by schema.
CREATE FUNCTION instsim.metric_operator(metric text) RETURNS text
	LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	op text := CASE metric WHEN 'cosine' THEN '<=>' WHEN 'l2' THEN '<->' WHEN 'ip' THEN '<#>' END;
BEGIN
	IF op IS NULL THEN
		RAISE EXCEPTION 'unknown metric "%"', metric
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''cosine'', ''l2'' or ''ip''.';
	END IF;
	RETURN 'OPERATOR(@extschema@.' || op || ')';
END
$fn$;

CREATE FUNCTION instsim.check_count(what text, n integer) RETURNS void
	LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
	IF n IS NULL OR n < 1 THEN
		RAISE EXCEPTION '% must be at least 1, not %', what, coalesce(n::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$fn$;

-- Refuses an array argument that is NULL, empty, not one-dimensional or
-- holds a NULL.
CREATE FUNCTION instsim.check_list(what text, list anyarray) RETURNS void
	LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
	IF list IS NULL OR cardinality(list) = 0 OR array_ndims(list) <> 1 THEN
		RAISE EXCEPTION '% must be a one-dimensional array with at least one element', what
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF array_position(list, NULL) IS NOT NULL THEN
		RAISE EXCEPTION '% must not contain NULL (element % is NULL)', what, array_position(list, NULL)
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
END
$fn$;

-- Refuses names that are not embedding columns of tbl: missing (42703) or
-- of another type (42804).
CREATE FUNCTION instsim.check_embedding_columns(tbl regclass, cols name[]) RETURNS void
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	col name;
	typ regtype;
BEGIN
	PERFORM instsim.check_list('the embedding columns', cols);
	FOREACH col IN ARRAY cols LOOP
		typ := (SELECT a.atttypid FROM pg_attribute a
		        WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped);
		IF typ IS NULL THEN
			RAISE EXCEPTION 'column "%" of % does not exist', col, tbl USING ERRCODE = 'undefined_column';
		END IF;
		IF typ IS DISTINCT FROM '@extschema@.embedding'::regtype THEN
			RAISE EXCEPTION 'column "%" of % is of type %, not embedding', col, tbl, typ
				USING ERRCODE = 'datatype_mismatch';
		END IF;
	END LOOP;
END
$fn$;

-- Every embedding column of tbl, in column order.
CREATE FUNCTION instsim.embedding_columns(tbl regclass) RETURNS name[]
	LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
	WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped
	  AND a.atttypid = '@extschema@.embedding'::regtype;
END;

-- The embedding in column col of the row whose key is key: P0002 when there
-- is no such row or its col is NULL, 21000 when several rows have that key.
CREATE FUNCTION instsim.row_embedding(tbl regclass, col name, kc name, eq text, key anyelement)
	RETURNS @extschema@.embedding
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	e @extschema@.embedding;
BEGIN
	IF key IS NULL THEN
		RAISE EXCEPTION 'the key of a seed row must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	BEGIN
		EXECUTE format('SELECT %I FROM %s WHERE %I %s $1', col, tbl, kc, eq) INTO STRICT e USING key;
	EXCEPTION
		WHEN no_data_found THEN e := NULL;
		WHEN too_many_rows THEN
			RAISE EXCEPTION 'more than one row of % has % = %', tbl, kc, key
				USING ERRCODE = 'cardinality_violation', HINT = 'Name a unique key_column.';
	END;
	IF e IS NULL THEN
		RAISE EXCEPTION 'no row of % has % = % and an embedding in %', tbl, kc, key, col
			USING ERRCODE = 'no_data_found';
	END IF;
	RETURN e;
END
$fn$;

-- A search's filter as a WHERE conjunct ('' for none).  The filter is the
-- caller's SQL, run with the caller's rights (the search functions are not
-- SECURITY DEFINER) but under their pinned search_path: names of the
-- caller's own tables and functions in it must be qualified by schema.  The
-- line break ends a trailing -- comment before the closing parenthesis.
CREATE FUNCTION instsim.filter_sql(filter text) RETURNS text
	LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
	RETURN CASE WHEN filter IS NULL THEN '' ELSE ' AND (' || filter || E'\n)' END;

-- The track column of a segment table: track_column, or else the first
-- column of its primary key (segment tables are keyed (track, start_s)); its
-- type and equality, and the check of given, as for search_key.  The table
-- must have start_s too.
CREATE FUNCTION instsim.segment_track(seg_tbl regclass, track_column name, what text DEFAULT NULL,
	given regtype DEFAULT NULL, OUT tc name, OUT track_type regtype, OUT eq text)
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
	tc := coalesce(track_column,
		(SELECT a.attname FROM pg_index i
		 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		 WHERE i.indrelid = seg_tbl AND i.indisprimary));
	IF tc IS NULL THEN
		RAISE EXCEPTION 'segment table % has no primary key', seg_tbl
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Pass track_column => its track column, or key it PRIMARY KEY (track, start_s).';
	END IF;
	SELECT * INTO tc, track_type, eq FROM instsim.search_key(seg_tbl, tc, what, given);
	IF NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = seg_tbl AND a.attname = 'start_s'
	               AND a.attnum > 0 AND NOT a.attisdropped) THEN
		RAISE EXCEPTION 'segment table % has no column start_s', seg_tbl
			USING ERRCODE = 'undefined_column',
			      HINT = 'A segment table has a track column, start_s and embedding columns.';
	END IF;
END
$fn$;
