# A streaming standby replays instsim_hnsw's WAL (GenericXLog) and answers
# nearest-neighbour queries exactly like the primary, after build, inserts,
# deletes + VACUUM.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('hnsw_primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION instsim;
	CREATE TABLE v (id int PRIMARY KEY, cat int, emb embedding(6));
	INSERT INTO v SELECT i, i % 20, ARRAY[sin(i), cos(i), sin(2*i), cos(3*i), sin(i*0.1), i % 7]::float8[]
	FROM generate_series(1, 3000) i;
	CREATE INDEX v_cos ON v USING instsim_hnsw (emb embedding_cosine_ops) WITH (m = 8, ef_construction = 40);
});
$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('hnsw_standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;

# Changes after the base backup reach the standby only through WAL.
$primary->safe_psql('postgres', q{
	CREATE INDEX v_l2 ON v USING instsim_hnsw (emb embedding_l2_ops);
	INSERT INTO v SELECT i, i % 20, ARRAY[cos(i), sin(i), cos(2*i), sin(3*i), cos(i*0.1), i % 5]::float8[]
	FROM generate_series(3001, 5000) i;
	DELETE FROM v WHERE id % 4 = 0;
	VACUUM v;
	INSERT INTO v SELECT i, i % 20, ARRAY[sin(i), sin(i), cos(i), cos(i), 0.5, i % 3]::float8[]
	FROM generate_series(5001, 5500) i;
});
$primary->wait_for_catchup($standby);

my @queries;
for my $q ('[0.1,0.2,0.3,0.4,0.5,3]', '[-1,1,-1,1,0,2]', '[0.5,-0.5,0.5,-0.5,1,0]')
{
	for my $op ('<->', '<=>')
	{
		push @queries,
		  "SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM v ORDER BY emb $op '$q' LIMIT 10) s";
		push @queries,
		  "SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM v WHERE cat = 3 ORDER BY emb $op '$q' LIMIT 10) s";
	}
}
my $settings = 'SET enable_seqscan = off; SET instsim.ef_search = 200; SET instsim.iterative_scan = on;';
for my $query (@queries)
{
	my $p = $primary->safe_psql('postgres', "$settings $query");
	my $s = $standby->safe_psql('postgres', "$settings $query");
	is($s, $p, "standby answers like the primary: $query");
	my $exact = $primary->safe_psql('postgres',
		"SET enable_indexscan = off; SET enable_bitmapscan = off; $query");
	is($p, $exact, "and both equal the exact scan");
}
my $plan = $standby->safe_psql('postgres',
	"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM v ORDER BY emb <=> '[1,1,1,1,1,1]' LIMIT 5");
like($plan, qr/Index Scan using v_cos/, 'the standby uses the replicated index');

$standby->stop;
$primary->stop;
done_testing();
