-- Casts between embedding and arrays.

SELECT ARRAY[1,2,3]::embedding, ARRAY[1.5,2.5]::real[]::embedding,
       ARRAY[1.25,-2]::float8[]::embedding, ARRAY[1.5,2.25]::numeric[]::embedding;
SELECT '[1,2.5,-3]'::embedding::real[];
SELECT ARRAY[1,2,3]::embedding(3);
SELECT '{1,2}'::int[]::embedding::real[]::embedding;
-- assignment casts into a column
CREATE TABLE c (e embedding(2), r real[]);
INSERT INTO c (e) VALUES (ARRAY[1,2]), (ARRAY[1.5,2]::float8[]), (ARRAY[3,4]::numeric[]);
UPDATE c SET r = e;
SELECT * FROM c;
DROP TABLE c;
-- a float8 or numeric that rounds to float4's largest value is accepted, as
-- in the text form (so embedding -> text -> float8[] -> embedding round-trips)
SELECT ARRAY[3.4028235e38, -3.4028235e38]::float8[]::embedding,
       ARRAY[3.4028235e38]::numeric[]::embedding,
       ('{' || trim('[]' FROM '[3.4028235e38]'::embedding::text) || '}')::float8[]::embedding;
-- float8 and numeric are rounded to float4
SELECT ARRAY[0.1::float8]::embedding, ARRAY[1.00000001::numeric]::embedding;

\set VERBOSITY sqlstate
SELECT ARRAY[1,2,3]::embedding(2);
SELECT '{}'::int[]::embedding;
SELECT ARRAY[[1,2],[3,4]]::embedding;
SELECT ARRAY[1,NULL]::embedding;
SELECT ARRAY['NaN']::float8[]::embedding;
SELECT ARRAY['Infinity']::float8[]::embedding;
SELECT ARRAY['NaN']::real[]::embedding;
SELECT ARRAY['NaN']::numeric[]::embedding;
SELECT ARRAY['Infinity']::numeric[]::embedding;
SELECT ARRAY[1e39]::float8[]::embedding;
SELECT ARRAY[1e400]::numeric[]::embedding;
SELECT array_fill(1, ARRAY[16001])::embedding;
SELECT ARRAY['a']::text[]::embedding;
\set VERBOSITY default
SELECT ARRAY[1e39]::float8[]::embedding;
