-- Distances, arithmetic, scalar functions and btree ordering.

SELECT '[1,2,3]'::embedding <-> '[4,6,3]' AS l2,
       l2_distance('[1,2,3]', '[4,6,3]') AS l2_fn,
       l2_squared_distance('[1,2,3]', '[4,6,3]') AS l2_sq;
SELECT '[1,2,3]'::embedding <#> '[4,5,6]' AS neg_ip,
       inner_product('[1,2,3]', '[4,5,6]') AS ip,
       negative_inner_product('[1,2,3]', '[4,5,6]') AS neg_ip_fn;
SELECT '[1,0]'::embedding <=> '[0,1]' AS orthogonal,
       '[1,1]'::embedding <=> '[2,2]' AS same_direction,
       '[1,1]'::embedding <=> '[-3,-3]' AS opposite,
       round(cosine_distance('[1,2,3]', '[3,2,1]')::numeric, 6) AS cos;
-- documented: cosine distance with a zero vector is NaN (sorts last)
SELECT '[0,0]'::embedding <=> '[1,2]' AS zero_left, '[1,2]'::embedding <=> '[0,0]' AS zero_right;
SELECT v FROM (VALUES ('[0,0]'::embedding), ('[1,0]'), ('[0,1]')) s(v) ORDER BY v <=> '[1,0]';
-- rounding never pushes a distance outside [0, 2]
SELECT '[0.1,0.2,0.3]'::embedding <=> '[0.1,0.2,0.3]' AS self,
       '[1e-30,1e-30]'::embedding <=> '[1e-30,1e-30]' AS tiny;
-- longer vectors take the SIMD path including the tail
SELECT round((a <-> b)::numeric, 4), round((a <#> b)::numeric, 4), round((a <=> b)::numeric, 6)
FROM (SELECT array_agg(i)::embedding AS a, array_agg(100 - i)::embedding AS b
      FROM generate_series(1, 100) i) s;

SELECT '[1,2,3]'::embedding + '[10,20,30]', '[1,2,3]'::embedding - '[1,1,1]',
       '[1,2,3]'::embedding * '[2,2,-1]';
SELECT embedding_norm('[3,4]'), embedding_dims('[1,2,3]'),
       l2_normalize('[3,4]'), l2_normalize('[0,0]');
-- issue #15: extreme but finite magnitudes give unit vectors and finite,
-- correct norms and distances (float sums of squares under- or overflow here)
SELECT l2_normalize('[3e38,3e38]') AS huge, l2_normalize('[1e-30,1e-30]') AS tiny,
       l2_normalize('[1e-20]') AS one, l2_normalize('[1e-45,0]') AS subnormal,
       l2_normalize('[3e38,-1e-30,1]') AS mixed;
-- (to 7 digits: past that, float8 shows the float4 inputs' binary noise)
SELECT to_char(embedding_norm('[3e38,3e38]'), '9.999999EEEE') AS norm_huge,
       to_char(embedding_norm('[3e-30,4e-30]'), '9.999999EEEE') AS norm_tiny,
       to_char(l2_distance('[3e38]', '[-3e38]'), '9.999999EEEE') AS l2_huge,
       to_char(l2_squared_distance('[3e38]', '[-3e38]'), '9.999999EEEE') AS l2sq_huge,
       to_char(l2_distance('[3e-30,0]', '[0,4e-30]'), '9.999999EEEE') AS l2_tiny,
       to_char(l2_squared_distance('[1e-30]', '[0]'), '9.999999EEEE') AS l2sq_tiny;
SELECT inner_product('[3e38,3e38]', '[3e38,-3e38]') AS ip_cancel,
       to_char(inner_product('[3e38]', '[3e38]'), '9.999999EEEE') AS ip_huge,
       to_char('[1e-30]'::embedding <#> '[1e-30]', '9.999999EEEE') AS neg_ip_tiny,
       round(cosine_distance('[1e-22,2e-22]', '[2e-22,1e-22]')::numeric, 6) AS cos_tiny,
       round(cosine_distance('[3e38,1e38]', '[1e38,3e38]')::numeric, 6) AS cos_huge;
-- the same distances on a 40-d vector, through the SIMD kernel
SELECT to_char(embedding_norm(a), '9.999999EEEE') AS norm,
       to_char(l2_distance(a, b), '9.999999EEEE') AS l2,
       to_char(inner_product(a, b), '9.999999EEEE') AS ip,
       round(cosine_distance(a, b)::numeric, 6) AS cos,
       round(embedding_norm(l2_normalize(a))::numeric, 6) AS unit
FROM (SELECT array_fill(1e38::real, ARRAY[40])::embedding AS a,
             array_fill(-1e38::real, ARRAY[40])::embedding AS b) s;
SELECT subvector('[1,2,3,4,5]', 2, 3), subvector('[1,2,3,4,5]', 4, 10),
       subvector('[1,2,3,4,5]', -1, 3);

\set VERBOSITY sqlstate
SELECT '[1,2]'::embedding <-> '[1,2,3]';
SELECT '[1,2]'::embedding <=> '[1,2,3]';
SELECT '[1,2]'::embedding <#> '[1,2,3]';
SELECT '[1,2]'::embedding + '[1,2,3]';
SELECT '[1,2]'::embedding - '[1]';
SELECT '[1,2]'::embedding * '[1]';
SELECT l2_squared_distance('[1]', '[1,2]');
SELECT inner_product('[1]', '[1,2]');
SELECT '[3e38]'::embedding + '[3e38]';
SELECT '[3e38]'::embedding * '[10]';
SELECT '[-3e38]'::embedding - '[3e38]';
SELECT subvector('[1,2,3]', 5, 2);
SELECT subvector('[1,2,3]', 1, 0);
\set VERBOSITY default
SELECT '[1,2]'::embedding <=> '[1,2,3]';

-- btree: element-wise order, then the shorter first
SELECT '[1,2]'::embedding < '[1,3]', '[1,2]'::embedding <= '[1,2]', '[1,2]'::embedding = '[1,2]',
       '[1,2]'::embedding <> '[1,2,0]', '[2]'::embedding > '[1,9]', '[1,2]'::embedding >= '[1,2]',
       '[1,2]'::embedding < '[1,2,0]', '[-0]'::embedding = '[0]';
SELECT embedding_cmp('[1,2]', '[1,2]'), embedding_cmp('[1]', '[1,2]'), embedding_cmp('[3]', '[1,2]');
CREATE TABLE o (e embedding);
INSERT INTO o VALUES ('[2,1]'), ('[1,2]'), ('[1]'), ('[1,2]'), ('[1,2,0]'), (NULL);
SELECT e FROM o ORDER BY e;
SELECT DISTINCT e FROM o ORDER BY e;
SELECT e, count(*) FROM o GROUP BY e ORDER BY e;
CREATE UNIQUE INDEX ON o (e);
CREATE INDEX o_btree ON o (e);
SET enable_seqscan = off;
SELECT e FROM o WHERE e = '[2,1]';
RESET enable_seqscan;
DROP TABLE o;
