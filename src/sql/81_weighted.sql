-- ---------------------------------------------------------------------------
-- Weighted multi-instrument search: "drums like A and bass like B".  The
-- distance of a row is sum_i weights[i] * (emb_columns[i] <op> queries[i]);
-- one index-ordered stream per column with a weight above 0, combined by
-- the threshold algorithm (catalogue_topk.c), so the answer is the exact
-- weighted top k of what the indexes return.  Rows with a NULL in a weighted
-- column have no weighted distance and are left out.
-- ---------------------------------------------------------------------------

-- The search behind both forms, once the key is resolved (kc, eq); exclude:
-- keys left out of the result (the seeds), an array of the key's type.
CREATE FUNCTION instsim.weighted_search(tbl regclass, emb_columns name[],
	queries @extschema@.embedding[], weights double precision[], exclude anyarray, k integer,
	filter text, kc name, eq text, metric text)
	RETURNS TABLE (key anyelement, distance double precision, distances double precision[])
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET instsim.iterative_scan = on
	AS $fn$
DECLARE
	op text := instsim.metric_operator(metric);
	streams text[];
	labels text[];
	orders integer[];
BEGIN
	PERFORM instsim.check_count('k', k);
	PERFORM instsim.check_embedding_columns(tbl, emb_columns);
	PERFORM instsim.check_list('queries', queries);
	PERFORM instsim.check_list('weights', weights);
	IF cardinality(queries) <> cardinality(emb_columns) OR cardinality(weights) <> cardinality(emb_columns) THEN
		RAISE EXCEPTION 'emb_columns, queries and weights must have the same length, not %, % and %',
			cardinality(emb_columns), cardinality(queries), cardinality(weights)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT FROM unnest(weights) w WHERE NOT (w >= 0 AND w < 'Infinity'))
	   OR NOT EXISTS (SELECT FROM unnest(weights) w WHERE w > 0) THEN
		RAISE EXCEPTION 'weights must be finite and not negative, and one at least above 0: %', weights
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT array_agg(instsim.stream_sql(tbl, kc, eq, emb_columns, op, filter, j) ORDER BY j),
	       array_agg(format('%I', emb_columns[j]) ORDER BY j),
	       array_agg(j ORDER BY j)
	INTO streams, labels, orders
	FROM generate_subscripts(weights, 1) j WHERE weights[j] > 0;
	RETURN QUERY SELECT * FROM instsim.threshold_topk(streams, labels, orders, queries, exclude,
	                                                  weights, 'sum', k);
END
$fn$;

-- With query vectors.  key_type only names the result's key type (pass
-- NULL::integer for an integer key, as with jsonb_populate_record).
CREATE FUNCTION instsim_weighted(tbl regclass, emb_columns name[], queries @extschema@.embedding[],
	weights double precision[], key_type anyelement, k integer DEFAULT 10, filter text DEFAULT NULL,
	key_column name DEFAULT NULL, metric text DEFAULT 'cosine')
	RETURNS TABLE (key anyelement, distance double precision, distances double precision[])
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	sk record;
BEGIN
	SELECT * INTO sk FROM instsim.search_key(tbl, key_column, 'key_type', pg_typeof(key_type));
	RETURN QUERY SELECT * FROM instsim.weighted_search(tbl, emb_columns, queries, weights,
		array_remove(ARRAY[key_type], key_type), k, filter, sk.kc, sk.eq, metric);
END
$fn$;
COMMENT ON FUNCTION instsim_weighted(regclass, name[], @extschema@.embedding[], double precision[],
	anyelement, integer, text, name, text) IS
	'the k rows nearest to queries[i] by emb_columns[i], by the weighted sum of the distances; index-served, exact re-rank';

-- With seed rows: emb_columns[i] of the row whose key is seeds[i] is the
-- i-th query ("drums like track 12 and bass like track 40"); the seeds are
-- left out of the result.
CREATE FUNCTION instsim_weighted_like(tbl regclass, emb_columns name[], seeds anyarray,
	weights double precision[], k integer DEFAULT 10, filter text DEFAULT NULL,
	key_column name DEFAULT NULL, metric text DEFAULT 'cosine')
	RETURNS TABLE (key anyelement, distance double precision, distances double precision[])
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	sk record;
BEGIN
	SELECT * INTO sk FROM instsim.search_key(tbl, key_column, 'seeds'' keys',
	                                         instsim.element_type(pg_typeof(seeds)));
	PERFORM instsim.check_list('seeds', seeds);
	PERFORM instsim.check_embedding_columns(tbl, emb_columns);
	IF cardinality(seeds) <> cardinality(emb_columns) THEN
		RAISE EXCEPTION 'seeds must hold one key per embedding column (% columns, % seeds)',
			cardinality(emb_columns), cardinality(seeds)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY SELECT * FROM instsim.weighted_search(tbl, emb_columns,
		ARRAY(SELECT instsim.row_embedding(tbl, emb_columns[i], sk.kc, sk.eq, seeds[i])
		      FROM generate_subscripts(seeds, 1) i ORDER BY i),
		weights, seeds, k, filter, sk.kc, sk.eq, metric);
END
$fn$;
COMMENT ON FUNCTION instsim_weighted_like(regclass, name[], anyarray, double precision[], integer,
	text, name, text) IS
	'the k rows nearest to row seeds[i] by emb_columns[i], by the weighted sum of the distances (seeds left out)';
