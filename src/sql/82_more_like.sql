-- ---------------------------------------------------------------------------
-- More like these: rows like several seed rows (a playlist) by one column,
-- the seeds left out.  mode 'centroid' searches with the seeds' mean (for
-- cosine the normalised mean of the normalised seeds, the paper's centroid);
-- 'best' ranks a row by its distance to its nearest seed, by the threshold
-- algorithm with min over one stream per seed.  nearest_seed says which
-- seed a row is closest to, in both modes.
-- ---------------------------------------------------------------------------

-- The centroid a 'centroid' search uses: for cosine the normalised mean of
-- the normalised vectors; for l2 and ip the mean (nearest by l2 to the mean
-- is nearest by mean squared distance; by ip, largest mean inner product).
CREATE FUNCTION instsim.centroid(vecs @extschema@.embedding[], metric text)
	RETURNS @extschema@.embedding
	LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN metric = 'cosine'
	            THEN @extschema@.l2_normalize(@extschema@.avg(@extschema@.l2_normalize(v)))
	            ELSE @extschema@.avg(v) END
	FROM unnest(vecs) v;
END;

CREATE FUNCTION instsim_more_like(tbl regclass, emb_column name, seeds anyarray,
	k integer DEFAULT 10, mode text DEFAULT 'centroid', filter text DEFAULT NULL,
	key_column name DEFAULT NULL, metric text DEFAULT 'cosine')
	RETURNS TABLE (key anyelement, distance double precision, nearest_seed anyelement)
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET instsim.iterative_scan = on
	AS $fn$
DECLARE
	op text := instsim.metric_operator(metric);
	sk record;
	s integer;
	vecs @extschema@.embedding[];
BEGIN
	IF mode IS DISTINCT FROM 'centroid' AND mode IS DISTINCT FROM 'best' THEN
		RAISE EXCEPTION 'unknown mode "%"', mode
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''centroid'' or ''best''.';
	END IF;
	PERFORM instsim.check_count('k', k);
	SELECT * INTO sk FROM instsim.search_key(tbl, key_column, 'seeds'' keys',
	                                         instsim.element_type(pg_typeof(seeds)));
	PERFORM instsim.check_list('seeds', seeds);
	PERFORM instsim.check_embedding_columns(tbl, ARRAY[emb_column]);
	s := cardinality(seeds);
	vecs := ARRAY(SELECT instsim.row_embedding(tbl, emb_column, sk.kc, sk.eq, seeds[i])
	              FROM generate_subscripts(seeds, 1) i ORDER BY i);
	IF mode = 'centroid' THEN
		-- one stream, by the distance to the centroid (weight 1); the
		-- distances to the seeds (weight 0) come along for nearest_seed
		RETURN QUERY SELECT t.key, t.distance,
			seeds[(SELECT i FROM generate_series(1, s) i ORDER BY t.distances[i + 1], i LIMIT 1)]
		FROM instsim.threshold_topk(
			ARRAY[instsim.stream_sql(tbl, sk.kc, sk.eq, array_fill(emb_column, ARRAY[s + 1]), op, filter, 1)],
			ARRAY[format('%I', emb_column)], ARRAY[1], instsim.centroid(vecs, metric) || vecs, seeds,
			1.0::float8 || array_fill(0.0::float8, ARRAY[s]), 'sum', k) t;
	ELSE
		RETURN QUERY SELECT t.key, t.distance,
			seeds[(SELECT i FROM generate_series(1, s) i ORDER BY t.distances[i], i LIMIT 1)]
		FROM instsim.threshold_topk(
			ARRAY(SELECT instsim.stream_sql(tbl, sk.kc, sk.eq, array_fill(emb_column, ARRAY[s]), op, filter, i)
			      FROM generate_series(1, s) i ORDER BY i),
			ARRAY(SELECT format('%I (seed %s)', emb_column, i) FROM generate_series(1, s) i ORDER BY i),
			ARRAY(SELECT generate_series(1, s)), vecs, seeds, array_fill(1.0::float8, ARRAY[s]), 'min', k) t;
	END IF;
END
$fn$;
COMMENT ON FUNCTION instsim_more_like(regclass, name, anyarray, integer, text, text, name, text) IS
	'the k rows most like the seed rows by emb_column (by their centroid, or by the nearest seed), seeds left out';
