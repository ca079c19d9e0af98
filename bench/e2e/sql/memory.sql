-- Peak memory of one backend embedding the long file (table long_audio).
-- run.sh samples /proc/PID/status of this backend (found by its
-- application_name) while it runs; here the backend reports its own
-- VmHWM (peak resident set) before and after, in kB.
-- psql -v jit=on|off: PostgreSQL's JIT compiles the query's expressions when
-- its estimated cost passes jit_above_cost, which instsim_embed's COST makes
-- likely, and LLVM then sits in the backend's memory too.
\set ON_ERROR_STOP on
SET application_name = 'e2e-memory';
SET jit = :jit;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP VIEW mem AS
  SELECT (regexp_match(s, 'VmHWM:\s+(\d+)'))[1]::bigint AS vm_hwm_kb,
         (regexp_match(s, 'RssAnon:\s+(\d+)'))[1]::bigint AS rss_anon_kb,
         (regexp_match(s, 'RssShmem:\s+(\d+)'))[1]::bigint AS rss_shmem_kb
    FROM pg_read_file('/proc/self/status') s;
SELECT 'fresh' AS phase, pg_backend_pid() AS pid, * FROM mem;
-- baseline: the same backend after embedding a 30-s track, so the model is
-- cached (weights, FFT plan, activation arena) and the code is paged in
SELECT instsim_embed(audio, 'mix') IS NOT NULL AS ok FROM tracks WHERE id = 0 \gset
SELECT 'baseline' AS phase, pg_backend_pid() AS pid, * FROM mem;
SELECT bench_cpu_s() AS cpu0, clock_timestamp() AS wall0 \gset
SELECT (instsim_audio_info(audio)).seconds AS long_audio_s,
       pg_size_pretty(octet_length(audio)::bigint) AS long_audio_bytes,
       pg_column_size(audio) AS stored_bytes,
       embedding_norm(instsim_embed(audio, 'mix')) AS embedding_norm
  FROM long_audio;
SELECT 'after' AS phase, pg_backend_pid() AS pid, *,
       round((bench_cpu_s() - :cpu0)::numeric, 2) AS cpu_s,
       round(extract(epoch FROM clock_timestamp() - :'wall0'::timestamptz), 2) AS wall_s
  FROM mem;
