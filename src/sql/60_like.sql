-- ---------------------------------------------------------------------------
-- "More like this row": the k nearest rows to one row of the same table.
--
-- The natural SQL, ORDER BY e <=> (SELECT e FROM t WHERE id = 42), is one
-- statement with a subquery on the same table; Citus refuses it on a
-- distributed table.  Here it is two statements: fetch the row's vector (a
-- single-shard query on Citus), then ORDER BY distance to it as a constant,
-- which every shard answers from its own index and Citus merges.  On one node
-- it is the same plan as the subquery form.
-- ---------------------------------------------------------------------------
CREATE FUNCTION instsim_like(tbl regclass, emb_column name, like_key anyelement,
	k integer DEFAULT 10, key_column name DEFAULT NULL, metric text DEFAULT 'cosine')
	RETURNS TABLE (key anyelement, distance double precision)
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	op text := instsim.metric_operator(metric);
	sk record;
	q @extschema@.embedding;
BEGIN
	PERFORM instsim.check_count('k', k);
	SELECT * INTO sk FROM instsim.search_key(tbl, key_column, 'like_key', pg_typeof(like_key));
	q := instsim.row_embedding(tbl, emb_column, sk.kc, sk.eq, like_key);
	RETURN QUERY EXECUTE format(
		'SELECT %1$I, %2$I %3$s $1 FROM %4$s WHERE NOT (%1$I %5$s $2) ORDER BY %2$I %3$s $1 LIMIT $3',
		sk.kc, emb_column, op, tbl, sk.eq)
		USING q, like_key, k;
END
$fn$;
COMMENT ON FUNCTION instsim_like(regclass, name, anyelement, integer, name, text) IS
	'the k rows nearest to the row whose key is like_key (itself left out), by emb_column; works on Citus distributed tables';
