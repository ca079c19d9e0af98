-- ---------------------------------------------------------------------------
-- The listening test (the paper's Table IV): pairs of tracks drawn per
-- instrument over the whole range of distances, rated 1..5 by listeners, and
-- the rank correlation between ratings and distances.  instsim-web serves
-- the test; instsim-eval --listening adds bootstrap intervals and agreement.
--
-- Both tables are configuration tables: pg_dump keeps the pairs and the
-- ratings.  Everyone may read them; writing is for the owner and whom it
-- grants (GRANT INSERT ON instsim.listening_rating TO a rater role).
-- ---------------------------------------------------------------------------

-- catalogue is the table's name qualified by schema (tbl::regclass::text with
-- search_path pinned), text rather than regclass so that a dump restores it
-- by name; instrument is the embedding column, keys are the key column's
-- values as text, so any key type fits.
CREATE TABLE instsim.listening_pair (
	id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	catalogue  text NOT NULL,
	instrument name NOT NULL,
	key_a      text NOT NULL,
	key_b      text NOT NULL,
	distance   double precision NOT NULL,
	stratum    integer NOT NULL,
	drawn      timestamptz NOT NULL DEFAULT pg_catalog.now(),
	UNIQUE (catalogue, instrument, key_a, key_b),
	CHECK (key_a OPERATOR(pg_catalog.<>) key_b)
);
COMMENT ON TABLE instsim.listening_pair IS
	'pairs of tracks to rate per instrument, drawn by instsim_listening_draw()';

-- Ratings are only ever added: a rater who changes their mind adds a row, and
-- the latest one counts (instsim.listening_ratings), so a rater role needs
-- INSERT and nothing else.
CREATE TABLE instsim.listening_rating (
	pair      integer NOT NULL REFERENCES instsim.listening_pair ON DELETE CASCADE,
	rater     text NOT NULL CHECK (pg_catalog.length(rater) BETWEEN 1 AND 64),
	rating    integer NOT NULL CHECK (rating BETWEEN 1 AND 5),
	rated_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
CREATE INDEX ON instsim.listening_rating (pair, rater, rated_at);
COMMENT ON TABLE instsim.listening_rating IS
	'similarity ratings, 1 (different) .. 5 (alike), one row per rating given';
SELECT pg_catalog.pg_extension_config_dump('instsim.listening_pair', '');
SELECT pg_catalog.pg_extension_config_dump('instsim.listening_rating', '');
-- and the pair ids' sequence: restored pairs keep their ids, so new ones must
-- continue after them
SELECT pg_catalog.pg_extension_config_dump(
	pg_catalog.pg_get_serial_sequence('instsim.listening_pair', 'id'), '');
GRANT SELECT ON instsim.listening_pair, instsim.listening_rating TO PUBLIC;

-- Draws up to `pairs` new pairs per instrument column: `sample` random rows
-- with an embedding, all their pairs split into `strata` quantiles of
-- distance, the same number drawn at random from each, so the test hears
-- near, middling and far pairs alike.  Returns how many pairs were added
-- (a pair drawn before is not added twice).  setseed() makes it repeatable.
CREATE FUNCTION instsim_listening_draw(tbl regclass, instruments name[],
	pairs integer DEFAULT 20, strata integer DEFAULT 4, key_column name DEFAULT NULL,
	sample integer DEFAULT 64)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	kc name := coalesce(key_column, instsim.primary_key_column(tbl));
	col name;
	added integer := 0;
	n integer;
BEGIN
	IF pairs < 1 OR strata < 1 OR strata > pairs OR sample < 2 THEN
		RAISE EXCEPTION 'pairs (%), strata (%) and sample (%) must satisfy 1 <= strata <= pairs and sample >= 2',
			pairs, strata, sample USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF kc IS NULL THEN
		RAISE EXCEPTION 'table % has no single-column primary key', tbl
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass key_column => the column that names a track.';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = kc AND NOT a.attisdropped) THEN
		RAISE EXCEPTION 'column "%" of % does not exist', kc, tbl USING ERRCODE = 'undefined_column';
	END IF;
	FOREACH col IN ARRAY instruments LOOP
		IF NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = col
		               AND NOT a.attisdropped AND a.atttypid = '@extschema@.embedding'::regtype) THEN
			RAISE EXCEPTION 'column "%" of % does not exist or is not an embedding', col, tbl
				USING ERRCODE = 'undefined_column';
		END IF;
		EXECUTE format(
			'WITH s AS (SELECT %1$I::text AS k, %2$I AS e, row_number() OVER () AS r FROM %3$s '
			'           WHERE %2$I IS NOT NULL AND %1$I IS NOT NULL ORDER BY random() LIMIT $1), '
			'c AS (SELECT a.k AS ka, b.k AS kb, a.e OPERATOR(@extschema@.<=>) b.e AS d '
			'      FROM s a JOIN s b ON a.r < b.r), '
			'q AS (SELECT *, ntile($2) OVER (ORDER BY d) AS stratum FROM c WHERE d <> ''NaN''::float8), '
			'p AS (SELECT *, row_number() OVER (PARTITION BY stratum ORDER BY random()) AS i FROM q) '
			'INSERT INTO instsim.listening_pair (catalogue, instrument, key_a, key_b, distance, stratum) '
			'SELECT $3, $4, ka, kb, d, stratum FROM p '
			'WHERE i <= ($5 + $2 - 1) / $2 ORDER BY i, stratum LIMIT $5 '
			'ON CONFLICT DO NOTHING',
			kc, col, tbl) USING sample, strata, tbl::text, col, pairs;
		GET DIAGNOSTICS n = ROW_COUNT;
		added := added + n;
	END LOOP;
	RETURN added;
END
$fn$;
COMMENT ON FUNCTION instsim_listening_draw(regclass, name[], integer, integer, name, integer) IS
	'adds pairs of tracks to rate per instrument, stratified over distance quantiles';

-- The rating that counts: each rater's latest for each pair.
CREATE VIEW instsim.listening_ratings AS
SELECT DISTINCT ON (r.pair, r.rater)
	p.catalogue, p.instrument, r.pair, p.key_a, p.key_b, p.distance, p.stratum,
	r.rater, r.rating, r.rated_at
FROM instsim.listening_rating r JOIN instsim.listening_pair p ON p.id = r.pair
ORDER BY r.pair, r.rater, r.rated_at DESC;
GRANT SELECT ON instsim.listening_ratings TO PUBLIC;

-- Per catalogue and instrument: how much was rated, and Spearman's rho
-- between a pair's mean rating and its distance (the Pearson correlation of
-- their average ranks).  Ratings are similarities and distances are not, so
-- agreement shows as a NEGATIVE rho (closer pairs rated more alike); NULL
-- with fewer than 3 rated pairs or no spread.
CREATE VIEW instsim.listening_summary AS
WITH per_pair AS (
	SELECT catalogue, instrument, pair, distance, avg(rating) AS rating,
	       count(*) AS ratings
	FROM instsim.listening_ratings
	GROUP BY catalogue, instrument, pair, distance),
ranked AS (
	SELECT *,
	       rank() OVER (PARTITION BY catalogue, instrument ORDER BY rating)
	         + (count(*) OVER (PARTITION BY catalogue, instrument, rating) - 1) / 2.0 AS rating_rank,
	       rank() OVER (PARTITION BY catalogue, instrument ORDER BY distance)
	         + (count(*) OVER (PARTITION BY catalogue, instrument, distance) - 1) / 2.0 AS distance_rank
	FROM per_pair)
SELECT catalogue, instrument,
       (SELECT count(*) FROM instsim.listening_pair p
        WHERE p.catalogue = r.catalogue AND p.instrument = r.instrument) AS pairs,
       count(*) AS pairs_rated, sum(ratings)::bigint AS ratings,
       (SELECT count(DISTINCT rater) FROM instsim.listening_ratings l
        WHERE l.catalogue = r.catalogue AND l.instrument = r.instrument) AS raters,
       CASE WHEN count(*) >= 3 THEN corr(rating_rank, distance_rank) END AS spearman
FROM ranked r
GROUP BY catalogue, instrument;
GRANT SELECT ON instsim.listening_summary TO PUBLIC;
COMMENT ON VIEW instsim.listening_summary IS
	'listening test per instrument: Spearman between mean rating and distance (negative = agreement)';
