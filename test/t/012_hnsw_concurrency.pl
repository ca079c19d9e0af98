# Concurrent inserts and searches on one instsim_hnsw index (pgbench with
# custom scripts): no error, no lost row (VACUUM's exact count of live index
# elements equals the table's), and the graph still reaches every row: after
# VACUUM (which relinks elements that pruning left without incoming links)
# instsim_hnsw_check finds none unreachable and an exhaustive iterative walk
# returns all of them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('hnsw_conc');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION instsim;
	CREATE SEQUENCE ids START 100000;
	CREATE TABLE v (id int PRIMARY KEY, emb embedding(16));
	INSERT INTO v SELECT i, (SELECT array_agg(sin(i * k + k)) FROM generate_series(1, 16) k)::float8[]
	FROM generate_series(1, 1000) i;
	CREATE INDEX v_l2 ON v USING instsim_hnsw (emb embedding_l2_ops);
	CREATE INDEX v_cos ON v USING instsim_hnsw (emb embedding_cosine_ops);
});

$node->pgbench(
	'--no-vacuum --client=6 --jobs=2 --transactions=150',
	0,
	[qr{processed: 900/900}],
	[qr{^$}],
	'concurrent inserts and searches',
	{
		'hnsw_insert' => q{
			\set n random(1, 1000000)
			INSERT INTO v SELECT nextval('ids'), (SELECT array_agg(sin(:n * k * 0.001 + k)) FROM generate_series(1, 16) k)::float8[];
		},
		'hnsw_search' => q{
			\set n random(1, 1000000)
			SET enable_seqscan = off;
			SELECT id FROM v ORDER BY emb <=> (SELECT array_agg(cos(:n * k * 0.001))::float8[]::embedding FROM generate_series(1, 16) k) LIMIT 5;
			SELECT id FROM v ORDER BY emb <-> (SELECT array_agg(sin(:n * k * 0.002))::float8[]::embedding FROM generate_series(1, 16) k) LIMIT 5;
		},
	});

sub check_complete
{
	my ($label) = @_;
	my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM v');
	$node->safe_psql('postgres', 'VACUUM v');
	for my $ix ('v_l2', 'v_cos')
	{
		my $entries = $node->safe_psql('postgres',
			"SELECT reltuples::bigint FROM pg_class WHERE relname = '$ix'");
		is($entries, $rows, "$label: $ix holds one element per row ($rows)");
		my $check = $node->safe_psql('postgres',
			"SELECT unreachable, stranded FROM instsim_hnsw_check('$ix')");
		is($check, '0|0', "$label: instsim_hnsw_check finds every row of $ix reachable");
	}
	for my $op ('<->', '<=>')
	{
		my $reach = $node->safe_psql('postgres', qq{
			SET enable_seqscan = off; SET instsim.ef_search = 1000; SET instsim.iterative_scan = on;
			SET instsim.max_scan_tuples = 1000000;
			SELECT count(DISTINCT id) FROM (SELECT id FROM v ORDER BY emb $op '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 100000) s;
		});
		is($reach, $rows, "$label: graph walk ($op) reaches $reach of $rows rows");
	}
	return $rows;
}
my $rows = check_complete('after concurrent inserts');
cmp_ok($rows, '>', 1000, "rows were inserted concurrently ($rows)");

# Concurrent inserts while VACUUM repairs the graph.
$node->safe_psql('postgres', 'DELETE FROM v WHERE id % 3 = 0');
my $h = IPC::Run::start([ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-c', 'VACUUM v' ]);
$node->pgbench('--no-vacuum --client=3 --transactions=50', 0, [qr{processed: 150/150}], [qr{^$}],
	'inserts during VACUUM',
	{ 'hnsw_insert2' => q{
			\set n random(1, 1000000)
			INSERT INTO v SELECT nextval('ids'), (SELECT array_agg(cos(:n * k * 0.001 + k)) FROM generate_series(1, 16) k)::float8[];
		} });
$h->finish;
check_complete('after VACUUM with concurrent inserts');

$node->stop;
done_testing();
