-- Text and binary I/O, typmods and input validation of the embedding type.

-- text form: whitespace and scientific notation are accepted
SELECT '[1,2,3]'::embedding;
SELECT '  [ 1.5 , -2e-3,3E+2 ]  '::embedding;
SELECT '[1e-45]'::embedding, '[3.4028235e38]'::embedding;
SELECT '[0.1]'::embedding::text = '[0.1]';  -- shortest round-trip output

-- typmod
CREATE TABLE t (e embedding(3));
INSERT INTO t VALUES ('[1,2,3]');
INSERT INTO t VALUES ('[1,2]');
SELECT '[1,2]'::embedding(2);
SELECT '[1,2]'::embedding(3);
SELECT '[1,2,3]'::embedding::embedding(2);
CREATE TABLE bad (e embedding(0));
CREATE TABLE bad (e embedding(16001));
CREATE TABLE bad (e embedding(3, 2));
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'e';
DROP TABLE t;

-- rejected input, each with its own SQLSTATE
\set VERBOSITY sqlstate
SELECT '[]'::embedding;
SELECT '[ ]'::embedding;
SELECT '[NaN]'::embedding;
SELECT '[1,nan]'::embedding;
SELECT '[Infinity]'::embedding;
SELECT '[-inf]'::embedding;
SELECT '[1e39]'::embedding;
SELECT '[1,2'::embedding;
SELECT '1,2]'::embedding;
SELECT '[1,,2]'::embedding;
SELECT '[1,2,]'::embedding;
SELECT '[1 2]'::embedding;
SELECT '[1,2]x'::embedding;
SELECT '[[1,2]]'::embedding;
SELECT '[abc]'::embedding;
SELECT ''::embedding;
\set VERBOSITY default
SELECT '[1,foo]'::embedding;
SELECT '[1,2,3'::embedding;

-- the dimension limit, at and past the edge
SELECT embedding_dims(('[' || repeat('1,', 15999) || '1]')::embedding);
SELECT embedding_dims(('[' || repeat('1,', 16000) || '1]')::embedding);

-- binary send/recv: a COPY BINARY round trip, then hand-made COPY files that
-- exercise every check of embedding_recv
CREATE TABLE b (id int, e embedding);
INSERT INTO b VALUES (1, '[1,-2.5,3e10]'), (2, NULL), (3, '[1e-45]');
SELECT embedding_send('[1,2]'::embedding);
CREATE FUNCTION copy_binary(tbl text, dir text, hex text DEFAULT NULL) RETURNS void AS $$
DECLARE
  f text := '/tmp/instsim_regress_' || pg_backend_pid() || '.bin';
  lo oid;
BEGIN
  IF hex IS NOT NULL THEN
    lo := lo_from_bytea(0, decode(hex, 'hex'));
    PERFORM lo_export(lo, f);
    PERFORM lo_unlink(lo);
  END IF;
  EXECUTE format('COPY %I %s %L (FORMAT binary)', tbl, dir, f);
END $$ LANGUAGE plpgsql;
SELECT copy_binary('b', 'TO');
CREATE TABLE b2 (LIKE b);
SELECT copy_binary('b2', 'FROM');
SELECT b.id, b.e = b2.e AS same, b2.e FROM b JOIN b2 USING (id) ORDER BY id;
-- one-column COPY file: header, then one tuple whose embedding field is $1
CREATE TABLE bin (e embedding(2));
CREATE FUNCTION copy_field(field text) RETURNS void AS $$
  SELECT copy_binary('bin', 'FROM', '5047434f50590aff0d0a00' || '0000000000000000' || '0001' ||
                     lpad(to_hex(length(field) / 2), 8, '0') || field || 'ffff');
$$ LANGUAGE sql;
SELECT copy_field('0002' || '0000' || '3f800000' || '40000000');
SELECT * FROM bin;
\set VERBOSITY sqlstate
SELECT copy_field('0002' || '0001' || '3f800000' || '40000000');  -- reserved field set
SELECT copy_field('0003' || '0000' || '3f800000' || '40000000');  -- too few bytes
SELECT copy_field('0002' || '0000' || '3f800000');                -- too few bytes
SELECT copy_field('0000' || '0000');                              -- zero dims
SELECT copy_field('3e81' || '0000' || '3f800000');                -- 16001 dims
SELECT copy_field('ffff' || '0000' || '3f800000');                -- negative dims
SELECT copy_field('0002' || '0000' || '7fc00000' || '40000000');  -- NaN
SELECT copy_field('0002' || '0000' || '7f800000' || '40000000');  -- Infinity
SELECT copy_field('0003' || '0000' || '3f800000' || '40000000' || '40400000'); -- typmod
\set VERBOSITY default
SELECT count(*) FROM bin;
DROP TABLE b, b2, bin;
DROP FUNCTION copy_field(text), copy_binary(text, text, text);
