-- The listening test's tables: pairs drawn per instrument over distance
-- quantiles, ratings with their CHECKs and privileges, and the summary view.
CREATE TABLE lt (id int PRIMARY KEY, name text, drums embedding(4), bass embedding(4), audio bytea);
INSERT INTO lt SELECT i, 'song ' || i,
	ARRAY[cos(i * 0.3), sin(i * 0.3), 0.1, 0.2]::float8[]::embedding,
	ARRAY[1, i, i * i % 7, 1]::float8[]::embedding, NULL
FROM generate_series(1, 30) i;
UPDATE lt SET bass = NULL WHERE id > 25;   -- rows without an embedding are never drawn
SELECT setseed(0.5);
SELECT instsim_listening_draw('lt', ARRAY['drums', 'bass'], pairs => 12, strata => 4);
-- three per quartile of distance, for each instrument; each distance is the pair's
SELECT instrument, stratum, count(*) FROM instsim.listening_pair GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS wrong_distance FROM instsim.listening_pair p, lt a, lt b
WHERE a.id = p.key_a::int AND b.id = p.key_b::int
  AND abs(p.distance - CASE p.instrument WHEN 'drums' THEN a.drums <=> b.drums ELSE a.bass <=> b.bass END) > 1e-9;
SELECT count(*) AS without_bass FROM instsim.listening_pair
WHERE instrument = 'bass' AND (key_a::int > 25 OR key_b::int > 25);
SELECT DISTINCT catalogue FROM instsim.listening_pair;
-- strata are ordered by distance: every pair of a lower stratum is nearer
SELECT bool_and(hi.distance >= lo.distance) AS ordered FROM instsim.listening_pair lo, instsim.listening_pair hi
WHERE lo.instrument = hi.instrument AND lo.stratum < hi.stratum;
-- a second draw over the whole table (sample >= rows) adds only pairs not drawn before
SELECT instsim_listening_draw('lt', ARRAY['drums'], pairs => 435, strata => 1, sample => 30) AS added;
SELECT count(*) FROM instsim.listening_pair WHERE instrument = 'drums';
\set VERBOSITY sqlstate
SELECT instsim_listening_draw('lt', ARRAY['name']);
SELECT instsim_listening_draw('lt', ARRAY['nope']);
SELECT instsim_listening_draw('lt', ARRAY['drums'], pairs => 2, strata => 3);
SELECT instsim_listening_draw('lt', ARRAY['drums'], key_column => 'nope');
\set VERBOSITY default

-- ratings: 1..5, a rater name of 1..64 characters, an existing pair
DELETE FROM instsim.listening_pair WHERE instrument = 'drums'
  AND id > (SELECT min(id) + 11 FROM instsim.listening_pair WHERE instrument = 'drums');
\set VERBOSITY sqlstate
INSERT INTO instsim.listening_rating (pair, rater, rating) SELECT min(id), 'ann', 6 FROM instsim.listening_pair;
INSERT INTO instsim.listening_rating (pair, rater, rating) SELECT min(id), '', 3 FROM instsim.listening_pair;
INSERT INTO instsim.listening_rating (pair, rater, rating) VALUES (-1, 'ann', 3);
\set VERBOSITY default
-- ann rates the drums pairs the closer the more alike (ties within a
-- stratum): as inverse as the ties allow
INSERT INTO instsim.listening_rating (pair, rater, rating)
SELECT id, 'ann', 5 - stratum FROM instsim.listening_pair WHERE instrument = 'drums';
SELECT instrument, pairs, pairs_rated, ratings, raters, round(spearman::numeric, 6) AS spearman
FROM instsim.listening_summary;
-- bob rates four pairs the other way round, then changes his mind about one:
-- his latest rating counts, and a pair's ratings are averaged
INSERT INTO instsim.listening_rating (pair, rater, rating)
SELECT id, 'bob', 1 + stratum FROM instsim.listening_pair WHERE instrument = 'drums' ORDER BY id LIMIT 4;
INSERT INTO instsim.listening_rating (pair, rater, rating)
SELECT min(id), 'bob', 1 FROM instsim.listening_pair WHERE instrument = 'drums';
SELECT rater, count(*) FROM instsim.listening_ratings GROUP BY rater ORDER BY rater;
SELECT rating FROM instsim.listening_ratings
WHERE rater = 'bob' AND pair = (SELECT min(id) FROM instsim.listening_pair WHERE instrument = 'drums');
SELECT instrument, pairs, pairs_rated, ratings, raters, round(spearman::numeric, 6) AS spearman
FROM instsim.listening_summary;

-- the same rho as the definition: Pearson of average ranks over the pairs' mean ratings
WITH pp AS (SELECT pair, distance, avg(rating) AS r FROM instsim.listening_ratings
            WHERE instrument = 'drums' GROUP BY pair, distance),
rk AS (SELECT (SELECT avg(x.n) FROM (SELECT row_number() OVER (ORDER BY r) AS n, r FROM pp) x WHERE x.r = pp.r) AS rr,
              (SELECT avg(x.n) FROM (SELECT row_number() OVER (ORDER BY distance) AS n, distance FROM pp) x
               WHERE x.distance = pp.distance) AS dr FROM pp)
SELECT round(corr(rr, dr)::numeric, 9) = (SELECT round(spearman::numeric, 9) FROM instsim.listening_summary
                                         WHERE instrument = 'drums') AS same_rho FROM rk;

-- pg_dump keeps both tables and the pair ids' sequence
SELECT c.relname FROM pg_extension e, unnest(e.extconfig) t(oid) JOIN pg_class c ON c.oid = t.oid
WHERE e.extname = 'instsim' ORDER BY 1;

-- a role may read but not rate until granted INSERT, and never draw or delete
CREATE ROLE regress_lt_rater;
SET ROLE regress_lt_rater;
SELECT count(*) > 0 AS can_read FROM instsim.listening_summary;
\set VERBOSITY sqlstate
INSERT INTO instsim.listening_rating (pair, rater, rating) SELECT min(id), 'eve', 3 FROM instsim.listening_pair;
RESET ROLE;
GRANT INSERT ON instsim.listening_rating TO regress_lt_rater;
GRANT SELECT ON lt TO regress_lt_rater;
SET ROLE regress_lt_rater;
INSERT INTO instsim.listening_rating (pair, rater, rating) SELECT min(id), 'eve', 3 FROM instsim.listening_pair;
SELECT instsim_listening_draw('lt', ARRAY['drums']);
DELETE FROM instsim.listening_rating;
\set VERBOSITY default
RESET ROLE;
REVOKE ALL ON instsim.listening_rating FROM regress_lt_rater;
REVOKE ALL ON lt FROM regress_lt_rater;
DROP ROLE regress_lt_rater;

-- DROP EXTENSION would take the ratings with it: not without CASCADE
\set VERBOSITY sqlstate
DROP EXTENSION instsim;
\set VERBOSITY default

-- a dropped pair takes its ratings with it
DELETE FROM instsim.listening_pair;
SELECT count(*) FROM instsim.listening_rating;
DROP TABLE lt;
