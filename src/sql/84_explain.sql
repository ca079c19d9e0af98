-- ---------------------------------------------------------------------------
-- Explain a match: why two tracks are alike, instrument by instrument
-- (instsim_explain) and moment by moment (instsim_explain_moments), so that
-- a catalogue UI can say "the drums are close, and bar 12 of A is bar 40 of
-- B".  Exact: two rows, or two tracks' segments, need no index.
-- ---------------------------------------------------------------------------

-- The distance between rows a and b in each embedding column (all of them by
-- default, in column order); NULL where either row has no embedding.
CREATE FUNCTION instsim_explain(tbl regclass, a anyelement, b anyelement,
	emb_columns name[] DEFAULT NULL, key_column name DEFAULT NULL, metric text DEFAULT 'cosine')
	RETURNS TABLE (emb_column name, distance double precision)
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	op text := instsim.metric_operator(metric);
	cols name[] := coalesce(emb_columns, instsim.embedding_columns(tbl));
	sk record;
	ds double precision[];
BEGIN
	SELECT * INTO sk FROM instsim.search_key(tbl, key_column, 'a', pg_typeof(a));
	PERFORM instsim.check_embedding_columns(tbl, cols);
	PERFORM instsim.check_list('the keys a and b', ARRAY[a, b]);
	BEGIN
		EXECUTE format('SELECT ARRAY[%s] FROM %s x, %2$s y WHERE x.%3$I %4$s $1 AND y.%3$I %4$s $2',
		               (SELECT string_agg(format('x.%1$I %2$s y.%1$I', c, op), ', ' ORDER BY i)
		                FROM unnest(cols) WITH ORDINALITY u(c, i)),
		               tbl, sk.kc, sk.eq)
			INTO STRICT ds USING a, b;
	EXCEPTION
		WHEN no_data_found THEN
			RAISE EXCEPTION 'no row of % has % = % (or none has %)', tbl, sk.kc, a, b
				USING ERRCODE = 'no_data_found';
		WHEN too_many_rows THEN
			RAISE EXCEPTION 'more than one row of % has % = % or %', tbl, sk.kc, a, b
				USING ERRCODE = 'cardinality_violation', HINT = 'Name a unique key_column.';
	END;
	RETURN QUERY SELECT cols[i], ds[i] FROM generate_subscripts(cols, 1) i ORDER BY i;
END
$fn$;
COMMENT ON FUNCTION instsim_explain(regclass, anyelement, anyelement, name[], name, text) IS
	'the distance between rows a and b in each embedding column, side by side';

-- For each segment of track a (by start_s) and each embedding column of the
-- segment table (all by default), the segment of track b that sounds most
-- like it, with both start times.  ORDER BY distance LIMIT n gives the
-- moments the two tracks share most.
CREATE FUNCTION instsim_explain_moments(seg_tbl regclass, a anyelement, b anyelement,
	emb_columns name[] DEFAULT NULL, track_column name DEFAULT NULL, metric text DEFAULT 'cosine')
	RETURNS TABLE (emb_column name, a_start real, b_start real, distance double precision)
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	op text := instsim.metric_operator(metric);
	cols name[] := coalesce(emb_columns, instsim.embedding_columns(seg_tbl));
	st record;
	col name;
	missing text;
BEGIN
	SELECT * INTO st FROM instsim.segment_track(seg_tbl, track_column, 'a', pg_typeof(a));
	PERFORM instsim.check_embedding_columns(seg_tbl, cols);
	PERFORM instsim.check_list('the tracks a and b', ARRAY[a, b]);
	EXECUTE format('SELECT CASE WHEN NOT EXISTS (SELECT FROM %1$s WHERE %2$I %3$s $1) THEN $1::text '
	               'WHEN NOT EXISTS (SELECT FROM %1$s WHERE %2$I %3$s $2) THEN $2::text END',
	               seg_tbl, st.tc, st.eq)
		INTO missing USING a, b;
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'segment table % has no segment of track %', seg_tbl, missing
			USING ERRCODE = 'no_data_found', HINT = 'CALL instsim_fill_segments(...) fills it.';
	END IF;
	FOREACH col IN ARRAY cols LOOP
		RETURN QUERY EXECUTE format($q$
			SELECT DISTINCT ON (x.start_s) $3, x.start_s::pg_catalog.float4,
			       y.start_s::pg_catalog.float4, x.%1$I %2$s y.%1$I
			FROM %3$s x JOIN %3$s y ON y.%4$I %5$s $2 AND y.%1$I IS NOT NULL
			WHERE x.%4$I %5$s $1 AND x.%1$I IS NOT NULL
			ORDER BY x.start_s, 4, y.start_s$q$,
			col, op, seg_tbl, st.tc, st.eq)
			USING a, b, col;
	END LOOP;
END
$fn$;
COMMENT ON FUNCTION instsim_explain_moments(regclass, anyelement, anyelement, name[], name, text) IS
	'for each segment of track a and each embedding column, the most similar segment of track b';
