-- instsim_hnsw_check(index): can every live row of an instsim_hnsw index be
-- found?  Counts the live elements, those reachable from the entry point on
-- level 0, the unreachable ones (with the heap TIDs of the first few) and the
-- "stranded" ones that have no path back to the entry point.  A healthy
-- index reports 0 unreachable and 0 stranded.  Superuser only by default,
-- like amcheck's functions: it reads the whole index.
CREATE FUNCTION instsim_hnsw_check(index regclass,
	OUT live bigint, OUT reachable bigint, OUT unreachable bigint,
	OUT stranded bigint, OUT unreachable_tids tid[])
	RETURNS record
	AS 'MODULE_PATHNAME', 'instsim_hnsw_check' LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION instsim_hnsw_check(regclass) FROM PUBLIC;
