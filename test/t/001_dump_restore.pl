# pg_dump / pg_restore round trip of a table with embedding columns, in both
# the plain and custom formats: every value, typmod and NULL must survive, and
# so must every model (user-loaded ones, and user models that replaced
# shipped ones: the restore's CREATE EXTENSION has re-created those already).
# Also: DROP EXTENSION does not take user models with it without CASCADE.
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
	SELECT instsim_model_load('mine', weights) FROM instsim.model WHERE name = 'drums';
	SELECT instsim_model_load('mix', weights) FROM instsim.model WHERE name = 'bass';
	SELECT setseed(0.5);
	SELECT instsim_listening_draw('tracks', ARRAY['drums'], pairs => 8);
	INSERT INTO instsim.listening_rating (pair, rater, rating)
	SELECT id, 'ann', 1 + id % 5 FROM instsim.listening_pair;
});
my $models_sql = 'SELECT name, builtin, sha256 FROM instsim.model ORDER BY name';
my $listening_sql = q{SELECT p.id, p.key_a, p.key_b, p.distance, r.rater, r.rating, r.rated_at
	FROM instsim.listening_pair p JOIN instsim.listening_rating r ON r.pair = p.id ORDER BY p.id};
my $listening = $node->safe_psql('src', $listening_sql);
like($listening, qr/\|ann\|/, 'the listening test has ratings to keep');
my $models = $node->safe_psql('src', $models_sql);
like($models, qr/^mix\|f\|/m, 'the shipped mix model is replaced by a user model');

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
	is($node->safe_psql("dst_$format", $models_sql), $models,
		"$format: every model is restored (user-loaded, replaced shipped, shipped)");
	is($node->safe_psql("dst_$format", $listening_sql), $listening,
		"$format: the listening test's pairs and ratings are restored");
	is($node->safe_psql("dst_$format",
			"SELECT instsim_listening_draw('tracks', ARRAY['drums'], pairs => 8) > 0"),
		't', "$format: pairs drawn after the restore get fresh ids");
	my ($ret, $out, $err) = $node->psql("dst_$format", "INSERT INTO tracks VALUES (9999, '[1,2,3]', NULL, 'x')");
	like($err, qr/expected 4 dimensions, not 3/, "$format: the restored column still checks dimensions");
}

# DROP EXTENSION would drop instsim.model with the models users loaded
$node->safe_psql('postgres', 'CREATE DATABASE guard');
$node->safe_psql('guard', q{
	CREATE EXTENSION instsim;
	SELECT instsim_model_load('mine', weights) FROM instsim.model WHERE name = 'drums';
});
my ($ret, $out, $err) = $node->psql('guard', 'DROP EXTENSION instsim');
isnt($ret, 0, 'DROP EXTENSION without CASCADE is refused while user models exist');
like($err, qr/instsim\.model holds 1 model\(s\) loaded by users/, '... saying why');
is($node->safe_psql('guard', "SELECT count(*) FROM instsim.model WHERE name = 'mine'"), '1',
	'... and the model is still there');
$node->safe_psql('guard', 'DROP EXTENSION instsim CASCADE');
is($node->safe_psql('guard', "SELECT count(*) FROM pg_extension WHERE extname = 'instsim'"), '0',
	'DROP EXTENSION ... CASCADE drops it');
$node->safe_psql('guard', 'CREATE EXTENSION instsim; DROP EXTENSION instsim');
pass('with only shipped models, a plain DROP EXTENSION works');

$node->stop;
done_testing();
