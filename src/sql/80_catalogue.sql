-- ---------------------------------------------------------------------------
-- The catalogue questions (81_ to 84_): weighted multi-instrument search,
-- more like these, moment search, explain a match.
--
-- The searches read index-ordered streams in C (src/pg/catalogue_*.c): each
-- stream is a query ORDER BY one distance without LIMIT, which instsim_hnsw
-- serves with its iterative scan (turned on by the SET clause of the
-- functions that open streams) for as long as the question needs rows, so
-- a filter in the stream's WHERE keeps the scan going until enough rows
-- pass.  Every function is SECURITY INVOKER: the filter is the caller's SQL
-- and runs with the caller's rights (instsim.filter_sql).
-- ---------------------------------------------------------------------------

-- The k rows of smallest combined distance by the threshold algorithm:
-- streams[i] returns (key, d_1 .. d_m), the distances to vectors ($1..$m),
-- ordered by d_{order_columns[i]}; $m+1 is exclude.  combine is 'sum' (by
-- weights) or 'min'.  See catalogue_topk.c.
CREATE FUNCTION instsim.threshold_topk(streams text[], labels text[], order_columns integer[],
	vectors @extschema@.embedding[], exclude anyarray, weights double precision[],
	combine text, k integer)
	RETURNS TABLE (key anyelement, distance double precision, distances double precision[])
	AS 'MODULE_PATHNAME', 'instsim_threshold_topk' LANGUAGE C STABLE STRICT ROWS 10;

-- The k nearest segments, at most per_key per track: stream returns (track
-- key, start_s real, distance) ordered by distance to query ($1); $2 is
-- exclude.  See catalogue_moments.c.
CREATE FUNCTION instsim.moment_topk(stream text, label text, query @extschema@.embedding,
	exclude anyarray, k integer, per_key integer)
	RETURNS TABLE (key anyelement, start_s real, distance double precision)
	AS 'MODULE_PATHNAME', 'instsim_moment_topk' LANGUAGE C STABLE STRICT ROWS 10;

-- The query of one stream over tbl: the key and the distance of cols[j] to
-- $j for every j, over the rows whose key is neither NULL nor in
-- $(cardinality(cols) + 1) and that pass the filter, ordered by distance
-- number order_by.
CREATE FUNCTION instsim.stream_sql(tbl regclass, kc name, eq text, cols name[], op text,
	filter text, order_by integer) RETURNS text
	LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT format('SELECT %1$I, %2$s FROM %3$s WHERE %1$I IS NOT NULL AND NOT (%1$I %4$s ANY ($%5$s))%6$s '
	              'ORDER BY %7$I %8$s $%9$s',
	              kc, string_agg(format('%I %s $%s', u.c, op, u.j), ', ' ORDER BY u.j), tbl, eq,
	              cardinality(cols) + 1, instsim.filter_sql(filter), cols[order_by], op, order_by)
	FROM unnest(cols) WITH ORDINALITY u(c, j);
END;

-- The element type of an array type (the keys of a seeds argument).
CREATE FUNCTION instsim.element_type(array_type regtype) RETURNS regtype
	LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT nullif(t.typelem, 0)::regtype FROM pg_type t WHERE t.oid = array_type;
END;
