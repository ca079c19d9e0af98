-- ---------------------------------------------------------------------------
-- Moment search: where, in the whole catalogue, does an instrument sound
-- like this 3-s query?  Over a segment table (track, start_s, one embedding
-- column per instrument; filled by instsim_fill_segments) with an
-- instsim_hnsw index on the column: the nearest segments, at most per_track
-- of them per track (catalogue_moments.c).
-- ---------------------------------------------------------------------------
CREATE FUNCTION instsim_moments(seg_tbl regclass, emb_column name, query @extschema@.embedding,
	key_type anyelement, k integer DEFAULT 10, per_track integer DEFAULT 1,
	filter text DEFAULT NULL, track_column name DEFAULT NULL, metric text DEFAULT 'cosine')
	RETURNS TABLE (track anyelement, start_s real, distance double precision)
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET instsim.iterative_scan = on
	AS $fn$
DECLARE
	op text := instsim.metric_operator(metric);
	st record;
BEGIN
	PERFORM instsim.check_count('k', k);
	PERFORM instsim.check_count('per_track', per_track);
	SELECT * INTO st FROM instsim.segment_track(seg_tbl, track_column, 'key_type', pg_typeof(key_type));
	PERFORM instsim.check_embedding_columns(seg_tbl, ARRAY[emb_column]);
	IF query IS NULL THEN
		RAISE EXCEPTION 'query must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	RETURN QUERY SELECT * FROM instsim.moment_topk(
		format('SELECT %1$I, start_s::pg_catalog.float4, %2$I %3$s $1 FROM %4$s '
		       'WHERE %1$I IS NOT NULL%5$s ORDER BY %2$I %3$s $1',
		       st.tc, emb_column, op, seg_tbl, instsim.filter_sql(filter)),
		format('%I', emb_column), query, array_remove(ARRAY[key_type], key_type), k, per_track);
END
$fn$;
COMMENT ON FUNCTION instsim_moments(regclass, name, @extschema@.embedding, anyelement, integer,
	integer, text, name, text) IS
	'the k segments nearest to query by emb_column, at most per_track per track: (track, start_s, distance)';
