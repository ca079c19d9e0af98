-- CPU cost of heads on one trunk (issue #14): one backend embeds 20 tracks
-- with the mix model alone, with mix plus the four shipped mix-input models
-- in one call (five networks), and with mix plus four heads trained together
-- (instsim-train --instrument drums,bass,piano,guitar --head-channels C,
-- which one call runs on one trunk).  Backend CPU seconds per pass, 3 passes.
--   psql -v heads=DIR -v tracks=DIR -f heads_cost.sql   (DIR/X_mix.safetensors, DIR/t0..t19.flac)
-- bench/e2e/heads_cost.sh runs it in a throw-away cluster, float32 and bfloat16 alternately.
\set ON_ERROR_STOP on
CREATE EXTENSION IF NOT EXISTS instsim;
SELECT count(instsim_model_load('heads_' || i,
                                pg_read_binary_file(:'heads' || '/' || i || '_mix.safetensors'))) AS heads
  FROM unnest(ARRAY['drums', 'bass', 'piano', 'guitar']) i;
CREATE TEMP TABLE t AS
  SELECT g AS id, pg_read_binary_file(:'tracks' || '/t' || g || '.flac') AS audio FROM generate_series(0, 19) g;
ALTER TABLE t ALTER COLUMN audio SET STORAGE EXTERNAL;
-- utime + stime of this backend, /proc/self/stat fields 14 and 15, in ticks of 1/100 s
CREATE FUNCTION pg_temp.cpu_s() RETURNS float8 LANGUAGE sql VOLATILE
  RETURN (SELECT (split_part(s, ' ', 12)::bigint + split_part(s, ' ', 13)::bigint)::float8 / 100
            FROM split_part(pg_read_file('/proc/self/stat'), ') ', 2) s);
CREATE FUNCTION pg_temp.timed(q text, reps int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  c float8 := pg_temp.cpu_s();
  x bigint;
BEGIN
  FOR i IN 1..reps LOOP
    EXECUTE q INTO x;
  END LOOP;
  RETURN (pg_temp.cpu_s() - c) / reps;
END $$;
SET max_parallel_workers_per_gather = 0;
SELECT pg_temp.timed($$SELECT sum(cardinality(instsim_embed(audio,
         ARRAY['mix', 'drums_mix', 'bass_mix', 'piano_mix', 'guitar_mix',
               'heads_drums', 'heads_bass', 'heads_piano', 'heads_guitar'])))::bigint FROM t$$, 1) AS warm_up;
SELECT round(one::numeric, 2) AS one_model_s, round(five::numeric, 2) AS five_networks_s,
       round(heads::numeric, 2) AS mix_and_heads_s,
       round((five / one)::numeric, 2) AS five_over_one, round((heads / one)::numeric, 2) AS heads_over_one
FROM (SELECT pg_temp.timed($$SELECT count(instsim_embed(audio, 'mix')) FROM t$$, 3) AS one,
             pg_temp.timed($$SELECT sum(cardinality(instsim_embed(audio,
               ARRAY['mix', 'drums_mix', 'bass_mix', 'piano_mix', 'guitar_mix'])))::bigint FROM t$$, 3) AS five,
             pg_temp.timed($$SELECT sum(cardinality(instsim_embed(audio,
               ARRAY['mix', 'heads_drums', 'heads_bass', 'heads_piano', 'heads_guitar'])))::bigint FROM t$$, 3) AS heads) x;
