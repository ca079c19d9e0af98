-- ---------------------------------------------------------------------------
-- Walking a user's table by its key, safely under any search_path: the
-- functions that build SQL over a table (instsim_fill_embeddings,
-- instsim_like) name the key's operators by schema instead of by bare symbol.
-- ---------------------------------------------------------------------------

-- The table's primary key column, NULL unless the key is one column.
CREATE FUNCTION instsim.primary_key_column(tbl regclass) RETURNS name
	LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT a.attname
	FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
	WHERE i.indrelid = tbl AND i.indisprimary AND i.indnkeyatts = 1;
END;

-- The key's equality and greater-than operators, qualified by schema: those of the
-- default btree class of its type (or of the type it is binary-coercible to,
-- as varchar is to text), the order that ORDER BY and DISTINCT use too.
-- PL/pgSQL rather than SQL: every search calls it, and PL/pgSQL keeps the
-- plans of these catalogue lookups for the session (a SQL function planned
-- the whole join again on each call, about 1 ms).
CREATE FUNCTION instsim.key_operators(tbl regclass, key_column name, OUT eq text, OUT gt text)
	LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	typ oid;
	base oid;
	fam oid;
	class_type oid;
BEGIN
	SELECT a.atttypid, CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END
	INTO typ, base
	FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
	WHERE a.attrelid = tbl AND a.attname = key_column AND NOT a.attisdropped;
	SELECT c.opcfamily, c.opcintype INTO fam, class_type
	FROM pg_opclass c
	WHERE c.opcmethod = (SELECT oid FROM pg_am WHERE amname = 'btree') AND c.opcdefault
	  AND (c.opcintype IN (typ, base)
	       OR EXISTS (SELECT FROM pg_cast k WHERE k.castsource = base
	                  AND k.casttarget = c.opcintype AND k.castmethod = 'b'))
	ORDER BY c.opcintype = typ DESC, c.opcintype = base DESC LIMIT 1;
	SELECT max(format('OPERATOR(%I.%s)', n.nspname, o.oprname)) FILTER (WHERE a.amopstrategy = 3),
	       max(format('OPERATOR(%I.%s)', n.nspname, o.oprname)) FILTER (WHERE a.amopstrategy = 5)
	INTO eq, gt
	FROM pg_amop a
	JOIN pg_operator o ON o.oid = a.amopopr
	JOIN pg_namespace n ON n.oid = o.oprnamespace
	WHERE a.amopfamily = fam AND a.amoplefttype = class_type AND a.amoprighttype = class_type;
END
$fn$;
