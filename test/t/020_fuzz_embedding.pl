# Seeded fuzzing of the embedding type that checks outputs, not only survival.
# Random and mutated text literals: each accepted one must hold only finite
# elements, round-trip through text and binary COPY, normalise to unit length
# and give finite distances in range, and every operation on it must return
# finite elements or fail with 22003.  Random aggregate states (float8[]) go
# through the aggregate support functions the same way.  Every rejection must
# carry one of the documented SQLSTATEs.  INSTSIM_FUZZ_SEED picks another run.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $seed = $ENV{INSTSIM_FUZZ_SEED} // 15;
srand($seed);
note "seed $seed";

my $node = PostgreSQL::Test::Cluster->new('fuzz_embedding');
$node->init;
$node->start;

# --- literals --------------------------------------------------------------

my @odd_numbers = qw(NaN nan -NaN +nan Infinity -Infinity inf +inf -inf INF
  1e39 -1e39 3.4028235e38 -3.4028235e38 3.4028236e38 1e-45 1e-46 -1e-50 1e-400
  1e400 -0 +0 0x1p3 0x1p200 0x1p-160 .5 5. 1e 1.2.3 --1 - + e5 0e0);

sub pick { return $_[ int rand @_ ] }

# A number as a user might write it, from 1e-50 to 1e45, or an odd token.
sub number
{
	return pick(@odd_numbers) if rand() < 0.06;
	my $sign = pick('', '', '-', '+');
	my $mant = sprintf('%.*f', int rand 9, rand 10);
	my $form = int rand 4;
	return $sign . int(rand 1000) if $form == 0;
	return $sign . $mant if $form == 1;
	return $sign . $mant . pick('e', 'E') . (int(rand 96) - 50);
}

sub space { return rand() < 0.8 ? '' : pick(' ', "\t", "\n", '  ', "\r\n") }

sub literal
{
	my $dim = rand() < 0.003 ? pick(16000, 16001) : 1 + int rand(rand() < 0.3 ? 80 : 6);
	return space() . '[' . join(',', map { space() . number() . space() } 1 .. $dim) . ']' . space();
}

# Byte-level damage: delete, insert or repeat a piece, or swap two characters.
sub mutate
{
	my ($s) = @_;
	for (1 .. 1 + int rand 3)
	{
		my $at = int rand(length($s) + 1);
		my $kind = int rand 4;
		if ($kind == 0 && length $s) { substr($s, $at, 1 + int rand 3) = '' }
		elsif ($kind == 1) { substr($s, $at, 0) = pick(split //, "[],.+-eE0123456789 naifxNI\t") }
		elsif ($kind == 2) { substr($s, $at, 0) = substr($s, int rand(length $s), int rand 6) }
		elsif (length($s) > 1)
		{
			my $b = int rand length $s;
			$at = int rand length $s;
			(substr($s, $at, 1), substr($s, $b, 1)) = (substr($s, $b, 1), substr($s, $at, 1));
		}
	}
	return $s;
}

# COPY text format escapes
sub copy_text
{
	my ($s) = @_;
	$s =~ s/\\/\\\\/g;
	$s =~ s/\t/\\t/g;
	$s =~ s/\n/\\n/g;
	$s =~ s/\r/\\r/g;
	return $s;
}

my $nlit = 3000;
my $file = $node->basedir . '/literals.tsv';
open(my $fh, '>', $file) or die "$file: $!";
for my $id (1 .. $nlit)
{
	my $lit = literal();
	$lit = mutate($lit) if rand() < 0.4;
	print $fh "$id\t" . copy_text($lit) . "\n";
}
close $fh;

# The documented SQLSTATEs of the embedding functions.
my $codes = q{('22P02', '22003', '22000', '54000', '22023')};

$node->safe_psql('postgres', qq{
	CREATE EXTENSION instsim;
	CREATE TABLE lit (id int PRIMARY KEY, t text);
	COPY lit FROM '$file';

	-- runs one expression on \$1, \$2; its value or the SQLSTATE it raised
	CREATE FUNCTION try(expr text, a anyelement, b anyelement, OUT v text, OUT code text)
	LANGUAGE plpgsql AS \$\$
	BEGIN
		EXECUTE 'SELECT (' || expr || ')::text' INTO v USING a, b;
		code := '00000';
	EXCEPTION WHEN OTHERS THEN
		code := SQLSTATE;
	END \$\$;

	CREATE TABLE parsed AS
	SELECT id, t, r.v, r.code FROM lit, LATERAL try('\$1::embedding', t, t) r;
	-- no NaN or infinity in the text form of an embedding or a float8[]
	CREATE FUNCTION all_finite(v text) RETURNS bool LANGUAGE sql AS \$\$
		SELECT v !~* 'nan|inf'
	\$\$;
	-- each accepted vector, from its output text, and the same reversed
	CREATE TABLE pair AS
	SELECT id, t, e, (SELECT array_agg(x ORDER BY i DESC)
	                  FROM unnest(e::real[]) WITH ORDINALITY u(x, i))::embedding AS r
	FROM (SELECT id, t, v::embedding AS e FROM parsed
	      WHERE code = '00000' AND all_finite(v)) s;
});

my ($accepted, $rejected) = split /\|/, $node->safe_psql('postgres',
	"SELECT count(*) FILTER (WHERE code = '00000'), count(*) FILTER (WHERE code <> '00000') FROM parsed");
note "$accepted literals accepted, $rejected rejected";
cmp_ok($accepted, '>', $nlit / 5, 'a good share of the literals is accepted');
cmp_ok($rejected, '>', $nlit / 10, 'a good share of the literals is rejected');

# Each check lists what breaks it (id first); nothing may.
sub none
{
	my ($what, $sql) = @_;
	my @bad = split /\n/, $node->safe_psql('postgres', $sql);
	ok(!@bad, $what) or diag join("\n", scalar(@bad) . ' rows, the first:', @bad[ 0 .. ($#bad < 4 ? $#bad : 4) ]);
}

none('rejected literals carry a documented SQLSTATE',
	"SELECT id, code FROM parsed WHERE code <> '00000' AND code NOT IN $codes");
none('accepted literals hold only finite elements',
	"SELECT id, v FROM parsed WHERE code = '00000' AND NOT all_finite(v)");
none('text output parses back to the same bits',
	"SELECT id, e FROM pair WHERE embedding_send(t::embedding) <> embedding_send(e)
	    OR e::text::embedding::text <> e::text");

my $bin = $node->basedir . '/pair.bin';
$node->safe_psql('postgres', qq{
	COPY pair (id, e) TO '$bin' (FORMAT binary);
	CREATE TABLE back (id int, e embedding);
	COPY back FROM '$bin' (FORMAT binary);
});
none('binary COPY round-trips every value',
	"SELECT id FROM pair FULL JOIN back b USING (id)
	 WHERE embedding_send(b.e) IS DISTINCT FROM embedding_send(pair.e)");

# The true norm of l2_normalize's output, summed in double from its elements.
none('l2_normalize gives unit vectors (1e-6) or returns a zero vector as it is',
	"SELECT id, n, left(e::text, 100) FROM (
	   SELECT id, e, l2_normalize(e) AS u,
	          (SELECT sqrt(sum(x::float8 * x::float8)) FROM unnest(l2_normalize(e)::real[]) x) AS n,
	          EXISTS (SELECT FROM unnest(e::real[]) x WHERE x <> 0) AS nonzero
	   FROM pair) s
	 WHERE NOT all_finite(u::text)
	    OR (nonzero AND NOT abs(n - 1) <= 1e-6)
	    OR (NOT nonzero AND u <> e)");

# Float kernels round at 2^-24 per step, over n/32 steps per lane and the
# lane sum, so the tolerance grows with n.
none('distances are finite and within their ranges',
	"SELECT id, ne, nr, l2, l2sq, ip, cos FROM (
	   SELECT id, e, embedding_norm(e) AS ne, embedding_norm(r) AS nr,
	          l2_distance(e, r) AS l2, l2_squared_distance(e, r) AS l2sq,
	          inner_product(e, r) AS ip, e <#> r AS nip, cosine_distance(e, r) AS cos,
	          e <-> e AS self_l2, e <=> e AS self_cos,
	          1e-6 * (1 + embedding_dims(e) / 32) AS tol
	   FROM pair) s
	 WHERE NOT (ne >= 0 AND nr >= 0 AND l2 >= 0 AND l2sq >= 0 AND ip = -nip AND self_l2 = 0
	            AND ne < 'Infinity' AND nr < 'Infinity' AND l2sq < 'Infinity'
	            AND ip > '-Infinity' AND ip < 'Infinity')
	    OR abs(ne - nr) > tol * ne
	    OR l2 > (ne + nr) * (1 + tol)
	    OR abs(ip) > ne * nr * (1 + tol)
	    OR (ne > 0 AND NOT (cos >= 0 AND cos <= 2 AND self_cos <= 1e-6
	                        AND abs((1 - cos) - ip / (ne * nr)) <= 4 * tol))
	    OR (ne = 0 AND NOT (cos = 'NaN' AND self_cos = 'NaN'))");

# Operations that build embeddings: finite elements, or 22003 on overflow.
none('arithmetic, aggregates and subvector return finite elements or raise 22003',
	"SELECT id, op, code FROM pair,
	   unnest(ARRAY['\$1 + \$2', '\$1 - \$2', '\$1 * \$2', 'l2_normalize(\$1 * \$2)',
	                'subvector(\$1, 2, 3)',
	                '(SELECT avg(x) FROM (VALUES (\$1), (\$2), (\$1)) v(x))',
	                '(SELECT sum(x) FROM (VALUES (\$1), (\$2), (\$1)) v(x))']) op,
	   LATERAL try(op, e, r) t
	 WHERE CASE WHEN code = '00000' THEN NOT all_finite(v) ELSE code NOT IN ('22003', '22000') END");

# --- aggregate states ------------------------------------------------------

my @odd_doubles = qw(NaN Infinity -Infinity 1e308 -1e308 1.7976931348623157e308 1e39 -1e39
  3.4e38 1e-320 -0 0.5 -1 2.5);

sub double
{
	return pick(@odd_doubles) if rand() < 0.15;
	return sprintf('%.6g', (rand() - 0.5) * 10**(int(rand 80) - 40));
}

sub state
{
	my $dim = pick(0, 1, 2, 3, 3, 3);
	my $count = rand() < 0.7 ? int rand 5 : double();
	return '{' . join(',', $count, map { double() } 1 .. $dim) . '}';
}

my $nstate = 1500;
$file = $node->basedir . '/states.tsv';
open($fh, '>', $file) or die "$file: $!";
print $fh "$_\t" . state() . "\t" . state() . "\n" for 1 .. $nstate;
close $fh;

$node->safe_psql('postgres', qq{
	CREATE TABLE st (id int PRIMARY KEY, a float8[], b float8[]);
	COPY st FROM '$file';
	-- a state is valid when it is {n, sums} with n a non-negative integer,
	-- sums present exactly when n > 0, and every number finite
	CREATE FUNCTION valid_state(s text) RETURNS bool LANGUAGE sql AS \$\$
		SELECT all_finite(s) AND f[1] >= 0 AND f[1] = floor(f[1])
		   AND (f[1] = 0) = (cardinality(f) = 1)
		FROM (SELECT s::float8[] AS f) t
	\$\$;
	CREATE TABLE agg AS
	SELECT id, a, b, op, t.v, t.code FROM st,
	  unnest(ARRAY['embedding_avg(\$1)', 'embedding_sum(\$1)', 'embedding_combine(\$1, \$2)',
	               'embedding_accum(\$1, array_fill(2.5::real, ARRAY[greatest(cardinality(\$1) - 1, 1)])::embedding)'])
	    op,
	  LATERAL try(op, a, b) t;
});

none('aggregate support functions raise only 22023, 22003 or 22000',
	"SELECT id, op, code FROM agg WHERE code <> '00000' AND code NOT IN ('22023', '22003', '22000')");
none('aggregate support functions reject every invalid state',
	"SELECT id, op, a, b FROM agg WHERE code = '00000'
	   AND NOT (valid_state(a::text) AND (op NOT LIKE '%combine%' OR valid_state(b::text)))");
none('accepted states give finite embeddings and valid states',
	"SELECT id, op, v FROM agg WHERE code = '00000' AND v IS NOT NULL
	   AND NOT CASE WHEN op LIKE 'embedding_avg%' OR op LIKE 'embedding_sum%' THEN all_finite(v)
	                ELSE valid_state(v) END");
my ($ok_states) = $node->safe_psql('postgres', "SELECT count(*) FROM agg WHERE code = '00000'");
note "$ok_states of " . 4 * $nstate . ' aggregate calls accepted';
cmp_ok($ok_states, '>', $nstate / 2, 'a good share of the aggregate calls is accepted');

$node->stop;
done_testing();
