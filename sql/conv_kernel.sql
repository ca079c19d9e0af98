-- instsim.conv_kernel: the convolution kernel the models of a session run.
-- Kernels differ in rounding only (wino-bf16: bfloat16 products), so a
-- change must reach models already cached by the backend, and a kernel the
-- CPU lacks is refused when set rather than when a model first runs.
\getenv fixtures INSTSIM_FIXTURES
\getenv abs_srcdir PG_ABS_SRCDIR
\set load_fixture :abs_srcdir/sql/fixture.psql
CREATE TEMP TABLE files (name text PRIMARY KEY, data bytea);
ALTER TABLE files ALTER COLUMN data SET STORAGE EXTERNAL;
\set fixture_table files
\set file beat48k.wav
\i :load_fixture

LOAD 'instsim';  -- the setting exists once the library is loaded
SHOW instsim.conv_kernel;
SET instsim.conv_kernel = 'fastest';

-- the mix model's embedding with a kernel, NULL when this CPU lacks it;
-- set for the statement's transaction, so each call switches the kernel of
-- the model cached by an earlier call
CREATE FUNCTION pg_temp.embed_with(kernel text, audio bytea, models text[]) RETURNS embedding[]
LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		PERFORM set_config('instsim.conv_kernel', kernel, true);
	EXCEPTION WHEN invalid_parameter_value THEN
		RETURN NULL;
	END;
	RETURN instsim_embed(audio, models);
END $$;

CREATE TEMP TABLE e AS
SELECT pg_temp.embed_with('auto', data, ARRAY['mix', 'drums_mix']) AS auto,
       pg_temp.embed_with('gemm', data, ARRAY['mix', 'drums_mix']) AS gemm,
       pg_temp.embed_with('avx2', data, ARRAY['mix']) AS avx2,
       pg_temp.embed_with('wino-bf16', data, ARRAY['mix', 'drums_mix']) AS bf16,
       pg_temp.embed_with('auto', data, ARRAY['mix', 'drums_mix']) AS auto_again
FROM files;
SHOW instsim.conv_kernel;

-- each kernel ran: gemm's rounding is not auto's unless this CPU's fastest
-- kernel is gemm itself (no AVX2); wino-bf16 is within its stated error, or
-- this CPU lacks it
SELECT auto_again = auto AS auto_repeats,
       auto[1] <=> gemm[1] < 1e-6 AND auto[2] <=> gemm[2] < 1e-6 AS gemm_close,
       avx2 IS NULL OR auto <> gemm AS gemm_ran,
       bf16 IS NULL OR (auto[1] <=> bf16[1] < 2e-3 AND auto[2] <=> bf16[2] < 2e-3
                        AND bf16 <> auto) AS bf16_close_and_ran
FROM e;

-- the array form shares passes between models only when they run one kernel:
-- under gemm it agrees with the single form under gemm
SET instsim.conv_kernel = 'gemm';
SELECT instsim_embed(data, ARRAY['mix', 'drums_mix'])
       = ARRAY[instsim_embed(data, 'mix'), instsim_embed(data, 'drums_mix')] AS array_same
FROM files;
RESET instsim.conv_kernel;
SELECT instsim_embed(data, 'mix') = auto[1] AS reset_to_auto FROM files, e;

-- the kernel is chosen by a superuser (or a role granted SET on it)
CREATE ROLE regress_conv_user;
GRANT SELECT ON files TO regress_conv_user;
SET ROLE regress_conv_user;
SET instsim.conv_kernel = 'gemm';
RESET ROLE;
GRANT SET ON PARAMETER instsim.conv_kernel TO regress_conv_user;
SET ROLE regress_conv_user;
SET instsim.conv_kernel = 'gemm';
SHOW instsim.conv_kernel;
RESET ROLE;
RESET instsim.conv_kernel;
REVOKE SET ON PARAMETER instsim.conv_kernel FROM regress_conv_user;
REVOKE SELECT ON files FROM regress_conv_user;
DROP ROLE regress_conv_user;
