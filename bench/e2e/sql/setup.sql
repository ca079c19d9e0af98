-- Benchmark database: the extension, five synthetic models, the tracks as
-- bytea, and timing helpers.  psql -v data=DIR (bench/e2e/data).
\set ON_ERROR_STOP on
CREATE EXTENSION instsim;
-- the shipped mix model under another name before the synthetic one replaces
-- it: the shipped mix-input models begin with its first blocks, which one call
-- of both runs once (issue #14's cost, embed.sql)
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM instsim.model WHERE name = 'mix') THEN
    RAISE EXCEPTION 'no shipped mix model: make install installs models/*.safetensors';
  END IF;
END $$;
SELECT instsim_model_load('shipped_mix', weights) IS NOT NULL AS shipped_mix FROM instsim.model WHERE name = 'mix';
SELECT m AS model, instsim_model_load_file(m, :'data' || '/models/' || m || '.safetensors') AS sha256
  FROM unnest(ARRAY['mix', 'drums', 'bass', 'piano', 'guitar']) m;

-- Audio is stored as it would be: out of line and uncompressed (FLAC does
-- not compress further), so instsim reads it in TOAST slices.
CREATE TABLE tracks (id int PRIMARY KEY, audio bytea NOT NULL);
ALTER TABLE tracks ALTER COLUMN audio SET STORAGE EXTERNAL;
INSERT INTO tracks
  SELECT i, pg_read_binary_file(format('%s/tracks/track%s.flac', :'data', lpad(i::text, 2, '0')))
    FROM generate_series(0, :ntracks - 1) i;
SELECT count(*) AS tracks, sum((instsim_audio_info(audio)).seconds) AS audio_s,
       pg_size_pretty(sum(octet_length(audio))) AS flac_bytes
  FROM tracks;

-- CPU seconds (user + system) of this backend so far, from /proc/self/stat:
-- utime and stime are its fields 14 and 15, in clock ticks.
CREATE FUNCTION bench_cpu_s(ticks_per_s int DEFAULT :clk_tck) RETURNS float8
  LANGUAGE sql VOLATILE
  RETURN (SELECT (split_part(s, ' ', 12)::bigint + split_part(s, ' ', 13)::bigint)::float8 / ticks_per_s
            FROM split_part(pg_read_file('/proc/self/stat'), ') ', 2) s);

-- Runs query repeats times; run_audio_s is the audio it embeds per run.
CREATE FUNCTION bench_run(workload text, query text, run_audio_s float8, repeats int,
                          OUT label text, OUT audio_s float8, OUT cpu_s float8, OUT wall_s float8,
                          OUT audio_s_per_cpu_s float8, OUT check_value bigint)
  LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  c0 float8;
  w0 timestamptz;
BEGIN
  c0 := bench_cpu_s();
  w0 := clock_timestamp();
  FOR i IN 1..repeats LOOP
    EXECUTE query INTO check_value;
  END LOOP;
  cpu_s := bench_cpu_s() - c0;
  wall_s := extract(epoch FROM clock_timestamp() - w0);
  audio_s := run_audio_s * repeats;
  audio_s_per_cpu_s := audio_s / cpu_s;
  label := workload;
END $$;
