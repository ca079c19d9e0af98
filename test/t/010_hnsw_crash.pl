# instsim_hnsw survives a crash: kill -9 the postmaster while sessions insert
# into an indexed table, restart (WAL replay), and the index must return
# exactly what the exact scan returns, for every row that committed.  One
# index per storage: L2 float, cosine int8, inner product half.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('hnsw_crash');
$node->init;
$node->append_conf('postgresql.conf', "restart_after_crash = on\n");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION instsim;
	CREATE TABLE v (id int PRIMARY KEY, emb embedding(8));
	INSERT INTO v SELECT i, ARRAY[sin(i), cos(i), sin(2*i), cos(3*i), sin(i*0.1), cos(i*0.7), i % 13, 1]::float8[]
	FROM generate_series(1, 2000) i;
	CREATE INDEX v_l2 ON v USING instsim_hnsw (emb embedding_l2_ops);
	CREATE INDEX v_cos ON v USING instsim_hnsw (emb embedding_cosine_ops) WITH (storage = int8);
	CREATE INDEX v_ip ON v USING instsim_hnsw (emb embedding_ip_ops) WITH (storage = half);
	CHECKPOINT;
});

# Background sessions insert in small transactions until the crash.
my @bg;
for my $w (0 .. 1)
{
	my $file = $node->basedir . "/inserts_$w.sql";
	open(my $fh, '>', $file) or die "cannot write $file: $!";
	for my $b (0 .. 399)
	{
		my $lo = 10000 + $w * 100000 + $b * 20;
		my $hi = $lo + 19;
		print $fh "INSERT INTO v SELECT i, ARRAY[sin(i), cos(i), sin(2*i), cos(3*i), sin(i*0.1), cos(i*0.7), i % 13, 1]::float8[] FROM generate_series($lo, $hi) i;\n";
	}
	close($fh);
	my ($out, $err) = ('', '');
	push @bg, IPC::Run::start([ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-f', $file ],
		'>', \$out, '2>', \$err);
}
# Let them run, then crash the server hard.
sleep 3;
my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM v');
cmp_ok($before, '>', 2000, "inserts were running ($before rows) before the crash");
$node->kill9;
$_->kill_kill for @bg;
# Backends orphaned by the kill linger until they notice; retry until they are gone.
my $started = 0;
for (1 .. 60)
{
	$node->{_pid} = undef;    # a failed start records the dead postmaster's pid
	last if ($started = $node->start(fail_ok => 1));
	sleep 1;
}
ok($started, 'server restarted after kill -9 (crash recovery)');

my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM v');
cmp_ok($rows, '>=', $before, "committed rows survived ($rows)");

# Every committed row is in the graph: a scan with a large ef reaches them all.
my $reach = $node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET instsim.ef_search = 1000; SET instsim.iterative_scan = on;
	SET instsim.max_scan_tuples = 1000000;
	SELECT count(*) FROM (SELECT id FROM v ORDER BY emb <-> '[0,0,0,0,0,0,0,0]' LIMIT 100000) s;
});
is($reach, $rows, 'iterative L2 scan reaches every row after recovery');

# Index answers equal the exact scan for a few queries, on every index.
for my $q ('[0.1,0.2,0.3,0.4,0.5,0.6,7,1]', '[-1,1,-1,1,0,0,3,1]', '[0.9,-0.1,0.4,0.4,-0.7,0.2,11,1]')
{
	for my $op ('<->', '<=>', '<#>')
	{
		my $query = "SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM v ORDER BY emb $op '$q' LIMIT 10) s";
		my $approx = $node->safe_psql('postgres',
			"SET enable_seqscan = off; SET instsim.ef_search = 400; $query");
		my $exact = $node->safe_psql('postgres',
			"SET enable_indexscan = off; SET enable_bitmapscan = off; $query");
		is($approx, $exact, "index answer equals exact scan after recovery ($op $q)");
	}
}

# The recovered index still takes inserts and VACUUM.
$node->safe_psql('postgres', q{
	INSERT INTO v SELECT i, ARRAY[sin(i), cos(i), sin(2*i), cos(3*i), sin(i*0.1), cos(i*0.7), i % 13, 1]::float8[]
	FROM generate_series(500000, 500100) i;
	DELETE FROM v WHERE id % 7 = 0;
	VACUUM v;
});
my $last = $node->safe_psql('postgres', q{
	SET enable_seqscan = off;
	SELECT id FROM v ORDER BY emb <-> (SELECT emb FROM v WHERE id = 500050) LIMIT 1;
});
is($last, '500050', 'index works after recovery, insert and VACUUM');

$node->stop;
done_testing();
