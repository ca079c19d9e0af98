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
	kc name := coalesce(key_column, instsim.primary_key_column(tbl));
	op text := CASE metric WHEN 'cosine' THEN '<=>' WHEN 'l2' THEN '<->' WHEN 'ip' THEN '<#>' END;
	ops record;
	key_type regtype;
	q @extschema@.embedding;
BEGIN
	IF op IS NULL THEN
		RAISE EXCEPTION 'unknown metric "%"', metric
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''cosine'', ''l2'' or ''ip''.';
	END IF;
	IF k < 1 THEN
		RAISE EXCEPTION 'k must be at least 1, not %', k USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF kc IS NULL THEN
		RAISE EXCEPTION 'table % has no single-column primary key', tbl
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass key_column => the column like_key is a value of.';
	END IF;
	SELECT o.eq INTO ops FROM instsim.key_operators(tbl, kc) o;
	IF ops.eq IS NULL THEN
		RAISE EXCEPTION 'column "%" of % does not exist or has no btree equality', kc, tbl
			USING ERRCODE = 'undefined_column';
	END IF;
	-- the result's key column has like_key's type: a narrower one would fail
	-- on the neighbours' keys, a different one would compare otherwise
	key_type := (SELECT a.atttypid FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = kc);
	IF pg_typeof(like_key) <> key_type THEN
		RAISE EXCEPTION 'like_key is of type %, column %.% of type %', pg_typeof(like_key), tbl, kc, key_type
			USING ERRCODE = 'datatype_mismatch', HINT = 'Cast the key to the column''s type.';
	END IF;
	BEGIN
		EXECUTE format('SELECT %I FROM %s WHERE %I %s $1', emb_column, tbl, kc, ops.eq)
			INTO STRICT q USING like_key;
	EXCEPTION
		WHEN no_data_found THEN q := NULL;
		WHEN too_many_rows THEN
			RAISE EXCEPTION 'more than one row of % has % = %', tbl, kc, like_key
				USING ERRCODE = 'cardinality_violation', HINT = 'Name a unique key_column.';
	END;
	IF q IS NULL THEN
		RAISE EXCEPTION 'no row of % has % = % and an embedding in %', tbl, kc, like_key, emb_column
			USING ERRCODE = 'no_data_found';
	END IF;
	RETURN QUERY EXECUTE format(
		'SELECT %1$I, %2$I OPERATOR(@extschema@.%3$s) $1 FROM %4$s '
		'WHERE NOT (%1$I %5$s $2) ORDER BY %2$I OPERATOR(@extschema@.%3$s) $1 LIMIT $3',
		kc, emb_column, op, tbl, ops.eq)
		USING q, like_key, k;
END
$fn$;
COMMENT ON FUNCTION instsim_like(regclass, name, anyelement, integer, name, text) IS
	'the k rows nearest to the row whose key is like_key (itself left out), by emb_column; works on Citus distributed tables';
