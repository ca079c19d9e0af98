# instsim on a Citus cluster: a coordinator and two workers on loopback ports.
# Create the extension (it reaches every worker with its shipped models), a
# distributed catalogue with a reference table of metadata, fill embeddings
# on the workers, index, search (each shard from its own index), filtered
# search with the iterative scan, "more like this row", a worker down (a
# clear error, no hang, nothing lost) and back (the same answers, the index
# intact after a crash of the worker).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $pkglib = `pg_config --pkglibdir`;
chomp $pkglib;
plan skip_all => "Citus is not installed in $pkglib (scripts/test.sh builds it with "
  . "../shared/anchors/install-citus.sh; CI does)"
  unless -f "$pkglib/citus.so";
my $fixtures = $ENV{INSTSIM_FIXTURES} or BAIL_OUT('INSTSIM_FIXTURES is not set');

my @nodes;
for my $name ('coordinator', 'worker1', 'worker2')
{
	my $n = PostgreSQL::Test::Cluster->new($name);
	$n->init;
	# Citus connects between nodes over TCP; a refused connection to a
	# stopped worker must fail fast rather than wait.
	$n->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'citus'
listen_addresses = '127.0.0.1'
max_connections = 80
citus.node_connection_timeout = 5000
});
	$n->start;
	$n->safe_psql('postgres', 'CREATE EXTENSION citus');
	push @nodes, $n;
}
my ($coord, $w1, $w2) = @nodes;
$coord->safe_psql('postgres', "SELECT citus_set_coordinator_host('127.0.0.1', " . $coord->port . ")");
$coord->safe_psql('postgres', "SELECT citus_add_node('127.0.0.1', " . $_->port . ")") for ($w1, $w2);

# ---- the extension on every node --------------------------------------------
$coord->safe_psql('postgres', 'CREATE EXTENSION instsim');
# a wide search on every shard, so that the index's answers are the exact
# ones; with it the cost estimate would rightly prefer scanning a small shard,
# so the index is made the only way
for my $n (@nodes)
{
	$n->safe_psql('postgres', "LOAD 'instsim'; ALTER SYSTEM SET instsim.ef_search = 200;
		ALTER SYSTEM SET enable_seqscan = off; SELECT pg_reload_conf()");
}
my $shipped = $coord->safe_psql('postgres', 'SELECT string_agg(name || sha256, \',\' ORDER BY name) FROM instsim.model WHERE builtin');
for my $w ($w1, $w2)
{
	is($w->safe_psql('postgres', 'SELECT string_agg(name || sha256, \',\' ORDER BY name) FROM instsim.model WHERE builtin'),
		$shipped, $w->name . ': CREATE EXTENSION on the coordinator brought the shipped models');
}

# ---- a distributed catalogue --------------------------------------------------
$coord->safe_psql('postgres', qq{
	CREATE TABLE artist (id int PRIMARY KEY, name text);
	SELECT create_reference_table('artist');
	INSERT INTO artist SELECT i, 'artist ' || i FROM generate_series(0, 49) i;

	CREATE TABLE track (id int PRIMARY KEY, artist_id int, audio bytea, drums embedding(128));
	ALTER TABLE track ALTER COLUMN audio SET STORAGE EXTERNAL;
	SELECT create_distributed_table('track', 'id', shard_count => 4);
	INSERT INTO track
	SELECT i, i % 50, pg_read_binary_file('$fixtures/' || (ARRAY['chord.flac', 'beat48k.wav', 'bass.ogg'])[1 + i % 3])
	FROM generate_series(1, 12) i;

	CREATE TABLE segment (track_id int, seg int, start_s real, drums embedding(128),
	                      PRIMARY KEY (track_id, seg));
	SELECT create_distributed_table('segment', 'track_id', colocate_with => 'track');

	-- vectors enough for the shards' indexes to be worth using
	CREATE TABLE vec (id int PRIMARY KEY, artist_id int, e embedding(16));
	SELECT create_distributed_table('vec', 'id', shard_count => 4);
	INSERT INTO vec SELECT i, i % 50,
		(SELECT array_agg(sin(i * 0.37 * j + j) + 0.3 * cos(i * 1.3 + j))::float8[]::embedding FROM generate_series(1, 16) j)
	FROM generate_series(1, 20000) i;
	CREATE INDEX vec_e ON vec USING instsim_hnsw (e embedding_cosine_ops);
	ANALYZE vec;
	-- the same rows on one node, for the exact answers
	CREATE TABLE vec_local AS SELECT * FROM vec;
});

# ---- embedding on the workers ---------------------------------------------------
my $sha = $coord->safe_psql('postgres', "SELECT sha256 FROM instsim.model WHERE name = 'mix'");
$coord->safe_psql('postgres', "ALTER TABLE track ADD COLUMN mix embedding(128)");
$coord->safe_psql('postgres', "UPDATE track SET mix = instsim_embed(audio, 'mix', '$sha')");
is($coord->safe_psql('postgres', 'SELECT count(mix) FROM track'), '12',
	'UPDATE ... SET mix = instsim_embed(audio, model, sha256) runs on the shards');

# a model loaded on the coordinator reaches the workers with instsim_model_sync
$coord->safe_psql('postgres', "SELECT instsim_model_load('mine', weights) FROM instsim.model WHERE name = 'bass'");
my $mine = $coord->safe_psql('postgres', "SELECT sha256 FROM instsim.model WHERE name = 'mine'");
my ($ret, $out, $err) = $coord->psql('postgres', "UPDATE track SET drums = instsim_embed(audio, 'mine', '$mine')");
like($err, qr/instsim model "mine" does not exist/, 'a user model is only on the node that loaded it');
is($coord->safe_psql('postgres', 'SELECT instsim_model_sync()'), '1', 'instsim_model_sync copies it to the workers');
is($w1->safe_psql('postgres', "SELECT sha256 FROM instsim.model WHERE name = 'mine'"), $mine, '... the same file');
$coord->safe_psql('postgres', "UPDATE track SET drums = instsim_embed(audio, 'mine', '$mine')");
is($coord->safe_psql('postgres', "SELECT count(*) FROM track WHERE drums = instsim_embed(audio, 'bass')"), '12',
	'... and the shards embed with it');
$coord->safe_psql('postgres', 'UPDATE track SET drums = NULL');

($ret, $out, $err) = $coord->psql('postgres',
	"SET client_min_messages = warning; CALL instsim_fill_embeddings('track', 'audio', 'drums', 'drums', batch_size => 5)");
is($ret, 0, 'instsim_fill_embeddings fills a distributed table') or diag($err);
is($coord->safe_psql('postgres', 'SELECT count(drums) FROM track'), '12', '... every row');
is($coord->safe_psql('postgres', q{SELECT rows_total, rows_done, rows_failed, finished IS NOT NULL
	FROM instsim.fill_progress WHERE tbl = 'track'::regclass}), '12|12|0|t', '... with its progress');
is($coord->safe_psql('postgres', q{
	SELECT count(*) FROM track t JOIN track u ON u.id = t.id
	WHERE t.drums = instsim_embed(u.audio, 'drums') }), '12',
	'... the same embeddings as the one-row function on the coordinator');

$coord->safe_psql('postgres', q{
	INSERT INTO segment
	SELECT t.id, s.seg, s.start_s, s.emb FROM track t, instsim_segments(t.audio, 'drums') s;
	CREATE INDEX segment_drums ON segment USING instsim_hnsw (drums embedding_cosine_ops);
});
ok($coord->safe_psql('postgres', 'SELECT count(*) FROM segment') > 12,
	'segments inserted from instsim_segments on the shards');

# ---- search ---------------------------------------------------------------------
my $q = "(SELECT array_agg(cos(j * 0.7))::float8[]::embedding FROM generate_series(1, 16) j)";
my $exact = $coord->safe_psql('postgres', "SELECT string_agg(id::text, ',') FROM
	(SELECT id FROM vec_local ORDER BY e <=> $q, id LIMIT 10) s");
my $qv = $coord->safe_psql('postgres', "SELECT $q");
my $dist = $coord->safe_psql('postgres', "SELECT string_agg(id::text, ',') FROM
	(SELECT id FROM vec ORDER BY e <=> '$qv', id LIMIT 10) s");
is($dist, $exact, 'top 10 by <=> over four shards equals the exact answer on one node');
my $plan = $coord->safe_psql('postgres', "SET citus.explain_all_tasks = on;
	EXPLAIN (COSTS OFF) SELECT id FROM vec ORDER BY e <=> '$qv' LIMIT 10");
like($plan, qr/Task Count: 4.*Limit/s, 'EXPLAIN: a top-k per shard, merged');
is(scalar(() = $plan =~ /Index Scan using vec_e_\d+/g), 4, '... every shard from its own instsim_hnsw index');

my $like_exact = $coord->safe_psql('postgres', q{SELECT string_agg(id::text, ',') FROM
	(SELECT id FROM vec_local WHERE id <> 4242
	 ORDER BY e <=> (SELECT e FROM vec_local WHERE id = 4242), id LIMIT 10) s});
is($coord->safe_psql('postgres', "SELECT string_agg(key::text, ',') FROM instsim_like('vec', 'e', 4242, 10)"),
	$like_exact, 'instsim_like: "more like row 4242" on the distributed table, as on one node');
($ret, $out, $err) = $coord->psql('postgres',
	'SELECT id FROM vec ORDER BY e <=> (SELECT e FROM vec WHERE id = 4242) LIMIT 10');
isnt($ret, 0, 'the subquery form is refused by Citus (which is why instsim_like exists)');

# filtered: a per-shard top-k under a WHERE needs the iterative scan on the workers
my $filtered_exact = $coord->safe_psql('postgres', "SELECT string_agg(id::text, ',') FROM
	(SELECT id FROM vec_local WHERE artist_id = 7 ORDER BY e <=> '$qv', id LIMIT 10) s");
my $filtered = $coord->safe_psql('postgres', qq{
	BEGIN;
	SET LOCAL citus.propagate_set_commands = 'local';
	SET LOCAL instsim.iterative_scan = on;
	SET LOCAL instsim.ef_search = 100;
	SELECT string_agg(id::text, ',') FROM
		(SELECT v.id FROM vec v JOIN artist a ON a.id = v.artist_id
		 WHERE a.name = 'artist 7' ORDER BY v.e <=> '$qv', v.id LIMIT 10) s;
	COMMIT;
});
is($filtered, $filtered_exact, 'filtered by a reference-table join, with the iterative scan on every shard');

# moment search: the nearest 3-s moments of the catalogue to one segment (its
# vector fetched first: Citus refuses the subquery form here too)
my $seg = $coord->safe_psql('postgres', 'SELECT drums FROM segment WHERE track_id = 1 ORDER BY seg LIMIT 1');
is($coord->safe_psql('postgres', qq{
	SELECT array_agg(DISTINCT track_id) FROM (
		SELECT track_id, drums <=> '$seg' AS d FROM segment ORDER BY drums <=> '$seg' LIMIT 40) s
	WHERE d < 1e-6}), '{1,4,7,10}',
	'moment search over the distributed segment table finds that moment in every track with the same audio');

# ---- the same errors as on one node -------------------------------------------
for my $case (["INSERT INTO vec VALUES (0, 0, '[1,2')", '22P02'],
	["INSERT INTO vec VALUES (0, 0, '[1,2,3]')", '22000'],
	["SELECT instsim_embed('\\x00'::bytea, 'mix', 'not the sha')", '55000'],
	["SELECT * FROM instsim_like('vec', 'e', -5)", 'P0002'])
{
	my ($sql, $code) = @$case;
	my ($r, $o, $e) = $coord->psql('postgres', $sql, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($e, qr/ERROR:  $code/, "Citus: $sql raises $code");
}

# ---- a worker down, then back -------------------------------------------------
$coord->safe_psql('postgres', 'UPDATE track SET drums = NULL WHERE id <= 6');
# index changes that the worker's recovery must replay: new rows, some deleted,
# a VACUUM, and no checkpoint before the crash
my $more = q{INSERT INTO %s SELECT i, i %% 50,
	(SELECT array_agg(sin(i * 0.37 * j + j) + 0.3 * cos(i * 1.3 + j))::float8[]::embedding FROM generate_series(1, 16) j)
	FROM generate_series(20001, 22000) i};
$coord->safe_psql('postgres', sprintf($more, 'vec') . '; ' . sprintf($more, 'vec_local')
	. '; DELETE FROM vec WHERE id % 7 = 0; DELETE FROM vec_local WHERE id % 7 = 0');
$coord->safe_psql('postgres', 'VACUUM vec');
$exact = $coord->safe_psql('postgres', "SELECT string_agg(id::text, ',') FROM
	(SELECT id FROM vec_local ORDER BY e <=> $q, id LIMIT 10) s");
$w2->stop('immediate');
my $t0 = time;
($ret, $out, $err) = $coord->psql('postgres', "SELECT id FROM vec ORDER BY e <=> '$qv' LIMIT 10");
my $took = time - $t0;
isnt($ret, 0, 'with a worker down, a search over every shard fails');
like($err, qr/connection to the remote node|could not connect|failed to connect/i, '... saying it cannot reach the worker');
cmp_ok($took, '<', 30, "... at once, not after a hang ($took s)");
($ret, $out, $err) = $coord->psql('postgres',
	"SET client_min_messages = warning; CALL instsim_fill_embeddings('track', 'audio', 'drums', 'drums')");
isnt($ret, 0, 'a fill fails with a worker down');
like($err, qr/connection to the remote node|could not connect|failed to connect/i, '... saying why');

$w2->start;
is($coord->safe_psql('postgres', "SELECT string_agg(id::text, ',') FROM
	(SELECT id FROM vec ORDER BY e <=> '$qv', id LIMIT 10) s"), $exact,
	'after the worker is back (crashed, recovered), the answer is the single-node answer again');
like($coord->safe_psql('postgres', "EXPLAIN (COSTS OFF) SELECT id FROM vec ORDER BY e <=> '$qv' LIMIT 10"),
	qr/Index Scan using vec_e_\d+/, '... from the shards\' indexes, which survived the crash');
($ret, $out, $err) = $coord->psql('postgres',
	"SET client_min_messages = warning; CALL instsim_fill_embeddings('track', 'audio', 'drums', 'drums')");
is($ret, 0, 'the fill runs again') or diag($err);
is($coord->safe_psql('postgres', 'SELECT count(drums) FROM track'), '12', '... and every row is filled');

$_->stop for @nodes;
done_testing();
