# pg_dump / pg_restore round trip of a table with embedding columns, in both
# the plain and custom formats: every value, typmod and NULL must survive.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
	CREATE DATABASE src;
});
$node->safe_psql('src', q{
	CREATE EXTENSION instsim;
	CREATE TABLE tracks (
		id int PRIMARY KEY,
		drums embedding(4),
		bass embedding,
		note text);
	INSERT INTO tracks
	SELECT i,
		ARRAY[sin(i), cos(i), i * 1e-7, -i * 3.5e20]::embedding,
		CASE WHEN i % 5 = 0 THEN NULL ELSE ARRAY[i, 1.0 / i]::embedding END,
		'track ' || i
	FROM generate_series(1, 500) i;
});

my $expected = $node->safe_psql('src',
	'SELECT id, drums::text, bass::text FROM tracks ORDER BY id');
my $checksum = $node->safe_psql('src',
	'SELECT md5(string_agg(drums::text || coalesce(bass::text, \'-\'), \',\' ORDER BY id)) FROM tracks');

for my $format ('plain', 'custom')
{
	my $file = $node->basedir . "/dump.$format";
	$node->command_ok(
		[ 'pg_dump', '--format', $format, '--file', $file, '--dbname', $node->connstr('src') ],
		"pg_dump in $format format");
	$node->safe_psql('postgres', "CREATE DATABASE dst_$format");
	if ($format eq 'plain')
	{
		$node->command_ok(
			[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', $file, '-d', $node->connstr("dst_$format") ],
			'plain dump restores with psql');
	}
	else
	{
		$node->command_ok(
			[ 'pg_restore', '--dbname', $node->connstr("dst_$format"), $file ],
			'custom dump restores with pg_restore');
	}
	is($node->safe_psql("dst_$format", 'SELECT id, drums::text, bass::text FROM tracks ORDER BY id'),
		$expected, "$format: every embedding value is restored exactly");
	is($node->safe_psql("dst_$format",
			'SELECT md5(string_agg(drums::text || coalesce(bass::text, \'-\'), \',\' ORDER BY id)) FROM tracks'),
		$checksum, "$format: checksum matches");
	is($node->safe_psql("dst_$format",
			"SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'tracks'::regclass AND attname = 'drums'"),
		'embedding(4)', "$format: the typmod survives");
	my ($ret, $out, $err) = $node->psql("dst_$format", "INSERT INTO tracks VALUES (9999, '[1,2,3]', NULL, 'x')");
	like($err, qr/expected 4 dimensions, not 3/, "$format: the restored column still checks dimensions");
}

$node->stop;
done_testing();
