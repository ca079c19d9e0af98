-- instsim_hnsw: HNSW nearest-neighbour index for embedding columns.
-- Named so that it coexists with pgvector's `hnsw`.

CREATE FUNCTION instsim_hnsw_handler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME', 'instsim_hnsw_handler' LANGUAGE C;

CREATE ACCESS METHOD instsim_hnsw TYPE INDEX HANDLER instsim_hnsw_handler;
COMMENT ON ACCESS METHOD instsim_hnsw IS
	'HNSW graph index for ORDER BY embedding distance LIMIT k (reloptions m, ef_construction; GUC instsim.ef_search)';

CREATE OPERATOR CLASS embedding_l2_ops DEFAULT FOR TYPE embedding USING instsim_hnsw AS
	OPERATOR 1 <-> (embedding, embedding) FOR ORDER BY float_ops,
	FUNCTION 1 l2_distance(embedding, embedding);

CREATE OPERATOR CLASS embedding_cosine_ops FOR TYPE embedding USING instsim_hnsw AS
	OPERATOR 1 <=> (embedding, embedding) FOR ORDER BY float_ops,
	FUNCTION 1 cosine_distance(embedding, embedding);

CREATE OPERATOR CLASS embedding_ip_ops FOR TYPE embedding USING instsim_hnsw AS
	OPERATOR 1 <#> (embedding, embedding) FOR ORDER BY float_ops,
	FUNCTION 1 negative_inner_product(embedding, embedding);
