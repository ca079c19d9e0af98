-- ---------------------------------------------------------------------------
-- Audio to embeddings.  STABLE, not IMMUTABLE: the result depends on the
-- model row, which may be replaced.
-- ---------------------------------------------------------------------------
CREATE FUNCTION instsim_audio_info(audio bytea,
	OUT sample_rate integer, OUT channels integer, OUT frames bigint,
	OUT seconds double precision, OUT format text, OUT encoding text)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The track vector of the paper: the L2-normalised mean of the embeddings of
-- every non-silent 3-s segment; NULL when no segment is above the silence
-- threshold (or the audio is shorter than one segment).
CREATE FUNCTION instsim_embed(audio bytea, model text DEFAULT 'mix') RETURNS embedding
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE COST 100000;

-- The same, pinned to one version of the model, named by its SHA-256
-- (instsim.models.sha256): IMMUTABLE, since the same arguments embed with the
-- same weights or raise 55000.  For where an IMMUTABLE function is required:
-- an UPDATE of a Citus distributed table (Citus runs no STABLE function with
-- column arguments on the shards); instsim_fill_embeddings uses it so that
-- one fill never mixes two versions of a model.
CREATE FUNCTION instsim_embed(audio bytea, model text, model_sha256 text) RETURNS embedding
	AS 'MODULE_PATHNAME', 'instsim_embed_version' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100000;

-- The track vectors of several models, in the order named, from one decode and
-- one log-mel image per segment (the models must share a front end).  The
-- whole result is NULL, like instsim_embed's, when no segment is audible: the
-- segments do not depend on the model.  A literal second argument such as
-- 'drums' still means the one-model form (unknown literals resolve to text).
CREATE FUNCTION instsim_embed(audio bytea, models text[]) RETURNS embedding[]
	AS 'MODULE_PATHNAME', 'instsim_embed_models' LANGUAGE C STABLE STRICT PARALLEL SAFE COST 200000;

-- Every non-silent segment: its window number (counting silent windows too),
-- start time and embedding.
CREATE FUNCTION instsim_segments(audio bytea, model text DEFAULT 'mix',
	OUT seg integer, OUT start_s real, OUT emb embedding)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE COST 100000 ROWS 100;

-- The log-mel image the model's network sees for the non-silent segment that
-- starts at or after start_s: n_mels rows of frames values.
CREATE FUNCTION instsim_mel(audio bytea, start_s double precision DEFAULT 0,
	model text DEFAULT 'mix') RETURNS real[]
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;

-- Every non-silent segment's embeddings under several models, in the order
-- named, from one decode and one log-mel image per segment (the models must
-- share a front end, else 22023), as instsim_embed(audio, models) for tracks.
CREATE FUNCTION instsim_segments(audio bytea, models text[],
	OUT seg integer, OUT start_s real, OUT embs embedding[])
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'instsim_segments_models' LANGUAGE C STABLE STRICT PARALLEL SAFE
	COST 200000 ROWS 100;

-- The same with those versions of the models only (their SHA-256s, else
-- 55000): IMMUTABLE, like instsim_embed(audio, model, model_sha256).
-- instsim_fill_segments uses it, so one fill never mixes two versions.
CREATE FUNCTION instsim_segments(audio bytea, models text[], model_sha256 text[],
	OUT seg integer, OUT start_s real, OUT embs embedding[])
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'instsim_segments_models' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
	COST 200000 ROWS 100;
