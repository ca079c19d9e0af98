-- Throughput of instsim_embed over the tracks table, one backend.
-- psql -v repeats=N -v tag=TEXT; prints one row per workload.
\set ON_ERROR_STOP on
SET max_parallel_workers_per_gather = 0;  -- all the work in this backend
SELECT sum((instsim_audio_info(audio)).seconds) AS track_s FROM tracks \gset
-- warm-up: model cache (parsing, packing, FFT plans) and buffers
SELECT count(instsim_embed(audio, m)) AS warm_up
  FROM tracks, unnest(ARRAY['mix', 'drums', 'bass', 'piano', 'guitar',
                            'shipped_mix', 'drums_mix', 'bass_mix', 'piano_mix', 'guitar_mix']) m \gset
-- one row per workload, run in this order
SELECT :'tag' AS run, pg_backend_pid() AS pid, r.*
  FROM (VALUES
    (1, '1 model (mix)', $q$SELECT count(instsim_embed(audio, 'mix')) FROM tracks$q$),
    (2, '5 models',
     $q$SELECT count(instsim_embed(audio, 'mix')) + count(instsim_embed(audio, 'drums'))
             + count(instsim_embed(audio, 'bass')) + count(instsim_embed(audio, 'piano'))
             + count(instsim_embed(audio, 'guitar')) FROM tracks$q$),
    -- the same five track vectors from one decode and one log-mel per segment
    (3, '5 models, one call',
     $q$SELECT sum(cardinality(instsim_embed(audio,
               ARRAY['mix', 'drums', 'bass', 'piano', 'guitar'])))::bigint FROM tracks$q$),
    -- issue #14's cost: the shipped mix model and the four shipped mix-input
    -- models, which begin with its first blocks (bass_mix the first, the
    -- others the first two), run once for all five;
    -- the shipped mix model has the synthetic one's network, so row 1 is its cost
    (4, 'mix + 4 mix-input, one call',
     $q$SELECT sum(cardinality(instsim_embed(audio,
               ARRAY['shipped_mix', 'drums_mix', 'bass_mix', 'piano_mix', 'guitar_mix'])))::bigint FROM tracks$q$)
  ) w(ord, label, query),
  LATERAL bench_run(w.label, w.query, :track_s, :repeats) r
  ORDER BY w.ord;
