# The parallel build of instsim_hnsw (max_parallel_maintenance_workers):
# workers really take part (their DEBUG1 lines reach the client), the graph is
# as good as a serial build's (recall@10 against the exact answer, every row
# reachable), a graph that outgrows its shared memory goes on with on-disk
# inserts, partial indexes and CREATE INDEX CONCURRENTLY build in parallel
# too, a column without declared dimensions builds serially, and the index
# survives a crash right after the build (its pages are WAL-logged).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('hnsw_parallel');
$node->init;
$node->append_conf('postgresql.conf',
	"autovacuum = off\nmax_worker_processes = 8\nmax_parallel_workers = 8\n");
$node->start;

# 20 000 rows in 40 overlapping clusters, and 206 queries near rows of every
# cluster (queries from one cluster alone made recall one draw of how well
# that cluster was linked: serial builds then ranged 0.948-0.999).
$node->safe_psql('postgres', q{
	CREATE EXTENSION instsim;
	SELECT setseed(0.25);
	CREATE TABLE c (id int PRIMARY KEY, emb embedding(32));
	INSERT INTO c SELECT i, (SELECT array_agg(sin((i % 40) * k + k) + 2 * (random() - 0.5))
		FROM generate_series(1, 32) k WHERE i > 0)::float8[]
	FROM generate_series(1, 20000) i;
	CREATE TABLE q (qid int, v embedding(32));
	INSERT INTO q SELECT id, emb + (SELECT array_agg(0.5 * (random() - 0.5)) FROM generate_series(1, 32)
		WHERE id > 0)::float8[]::embedding FROM c WHERE id % 97 = 7;
	ANALYZE c;
	-- mean recall@10 of the index scans against the exact answer, at an ef
	-- low enough that a worse graph shows (serial builds: 0.974-0.987)
	CREATE FUNCTION recall() RETURNS float8 LANGUAGE plpgsql AS $$
	DECLARE
		r record;
		hits int := 0;
		total int := 0;
	BEGIN
		SET LOCAL enable_seqscan = off;
		SET LOCAL instsim.ef_search = 10;
		FOR r IN SELECT v FROM q LOOP
			hits := hits + (SELECT count(*) FROM
				(SELECT id FROM c ORDER BY emb <=> r.v LIMIT 10) i JOIN
				(SELECT id FROM c ORDER BY cosine_distance(emb, r.v) LIMIT 10) e USING (id));
			total := total + 10;
		END LOOP;
		RETURN hits::float8 / total;
	END $$;
});

# CREATE INDEX with DEBUG1 messages; returns what the client saw on stderr.
sub build
{
	my ($settings, $create) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres', "$settings SET client_min_messages = debug1; $create",
		stdout => \$out, stderr => \$err, on_error_die => 1);
	return $err;
}

sub workers_ran
{
	my ($err) = @_;
	my ($n) = $err =~ /instsim_hnsw parallel build: (\d+) workers/;
	my @worker = $err =~ /instsim_hnsw parallel build: worker indexed (\d+) tuples/g;
	my @leader = $err =~ /instsim_hnsw parallel build: leader indexed (\d+) tuples/g;
	my $sum = 0;
	$sum += $_ for (@worker, @leader);
	return ($n // 0, scalar(@worker), (grep { $_ > 0 } @worker) ? 1 : 0, $sum);
}

sub check_all
{
	my ($index, $rows, $label) = @_;
	is($node->safe_psql('postgres',
			"SELECT live, unreachable, stranded FROM instsim_hnsw_check('$index')"),
		"$rows|0|0", "$label: all $rows rows reachable, none stranded");
}

# A parallel build: the workers launched, every row indexed once, all of
# them reachable, and (with a recall query) recall@10 still high.
sub parallel_case
{
	my ($label, $workers, $rows, $index, $settings, $create, $recall_sql) = @_;
	my $err = build($settings, $create);
	my ($n, $nworker, $worked, $sum) = workers_ran($err);
	is("$n $nworker $sum", "$workers $workers $rows", "$label: $workers workers, every row once");
	check_all($index, $rows, $label);
	if ($recall_sql)
	{
		my $recall = $node->safe_psql('postgres', $recall_sql);
		cmp_ok($recall, '>=', 0.95, "$label: recall\@10 $recall");
	}
	$node->safe_psql('postgres', "DROP INDEX $index");
	return $err;
}

my $err = build('SET max_parallel_maintenance_workers = 0;',
	'CREATE INDEX c_serial ON c USING instsim_hnsw (emb embedding_cosine_ops);');
unlike($err, qr/instsim_hnsw parallel build/, 'no workers: serial build');
my $recall_serial = $node->safe_psql('postgres', 'SELECT recall()');
$node->safe_psql('postgres', 'DROP INDEX c_serial');

# the table's parallel_workers decides, as for btree; one worker and the
# leader, as many as the 2 cores of CI (with more participants than cores,
# an insert that is descheduled halfway stays unseen by the inserts meanwhile,
# which costs little: 0.973-0.991 with 2 workers on 2 cores, 0.969-0.984
# with one)
$node->safe_psql('postgres', 'ALTER TABLE c SET (parallel_workers = 1)');
$err = build('SET max_parallel_maintenance_workers = 2;',
	'CREATE INDEX c_par ON c USING instsim_hnsw (emb embedding_cosine_ops);');
my ($n, $nworker, $worked, $sum) = workers_ran($err);
is($n, 1, 'parallel_workers = 1: one worker launched');
is($nworker, 1, 'the worker reported');
ok($worked, 'the worker indexed rows');
is($sum, 20000, 'leader and worker indexed every row once');
is($node->safe_psql('postgres', "SELECT reltuples FROM pg_class WHERE relname = 'c_par'"),
	'20000', 'index tuples reported');
check_all('c_par', 20000, 'parallel build');
my $recall_par = $node->safe_psql('postgres', 'SELECT recall()');
# (a search that entered level 0 through a half-linked node gave 0.918)
cmp_ok($recall_par, '>=', $recall_serial - 0.03,
	"parallel build recall\@10 $recall_par as good as serial $recall_serial");

# Crash right after the build, before any checkpoint: replay must restore it.
my $top10 = q{SET enable_seqscan = off; SELECT string_agg(id::text, ',') FROM
	(SELECT id FROM c ORDER BY emb <=> (SELECT v FROM q LIMIT 1) LIMIT 10) s};
my $before = $node->safe_psql('postgres', $top10);
$node->stop('immediate');
$node->start;
check_all('c_par', 20000, 'after crash recovery');
is($node->safe_psql('postgres', $top10), $before, 'after crash recovery: same answer');
$node->safe_psql('postgres', 'DROP INDEX c_par');

# without parallel_workers the planner sizes it by the table
$node->safe_psql('postgres', 'ALTER TABLE c RESET (parallel_workers)');
$err = build('SET max_parallel_maintenance_workers = 1;',
	'CREATE INDEX c_small ON c USING instsim_hnsw (emb embedding_l2_ops);');
unlike($err, qr/instsim_hnsw parallel build/, 'table below min_parallel_table_scan_size: serial');
$node->safe_psql('postgres', 'DROP INDEX c_small');
parallel_case('planner-sized parallel build', 1, 20000, 'c_planned',
	'SET max_parallel_maintenance_workers = 1; SET min_parallel_table_scan_size = 0;',
	'CREATE INDEX c_planned ON c USING instsim_hnsw (emb embedding_l2_ops);');

# two workers and the leader
$node->safe_psql('postgres', 'ALTER TABLE c SET (parallel_workers = 2)');
parallel_case('two workers', 2, 20000, 'c_two',
	'SET max_parallel_maintenance_workers = 2;',
	'CREATE INDEX c_two ON c USING instsim_hnsw (emb embedding_cosine_ops);',
	'SELECT recall()');

# 1 MB holds ~2 300 of these elements: the graph closes, is written out, and
# every participant goes on with on-disk inserts.
$err = parallel_case('spilled parallel build', 2, 20000, 'c_spill',
	"SET max_parallel_maintenance_workers = 2; SET maintenance_work_mem = '1MB';",
	'CREATE INDEX c_spill ON c USING instsim_hnsw (emb embedding_cosine_ops);');
like($err, qr/NOTICE:  instsim_hnsw graph no longer fits in its shared memory after \d+ tuples/,
	'graph outgrew its shared memory: NOTICE');

# a partial index: every participant applies the predicate
parallel_case('partial index', 2, 10000, 'c_part',
	'SET max_parallel_maintenance_workers = 2;',
	'CREATE INDEX c_part ON c USING instsim_hnsw (emb embedding_cosine_ops) WHERE id % 2 = 0;');

# CREATE INDEX CONCURRENTLY scans with an MVCC snapshot in every participant;
# compact storage codes the vectors when the leader writes the graph
parallel_case('CREATE INDEX CONCURRENTLY', 2, 20000, 'c_conc',
	'SET max_parallel_maintenance_workers = 2;',
	'CREATE INDEX CONCURRENTLY c_conc ON c USING instsim_hnsw (emb embedding_cosine_ops) WITH (storage = \'int8\');');

# the shared arrays are sized by the dimensions: an undeclared column is serial
$node->safe_psql('postgres', q{
	CREATE TABLE u (id int, emb embedding);
	INSERT INTO u SELECT id, emb FROM c WHERE id <= 3000;
	ALTER TABLE u SET (parallel_workers = 2);
});
$err = build('SET max_parallel_maintenance_workers = 2;',
	'CREATE INDEX u_idx ON u USING instsim_hnsw (emb embedding_cosine_ops);');
unlike($err, qr/instsim_hnsw parallel build/, 'embedding without dimensions: serial build');
check_all('u_idx', 3000, 'undeclared dimensions');

$node->stop;
done_testing();
