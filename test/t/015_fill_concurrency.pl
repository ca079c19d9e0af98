# instsim_fill_embeddings from two sessions on one column: the second is
# refused with the first one's PID instead of embedding the same rows again;
# on another column, or once the first is done, it runs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('fill');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION instsim;
	CREATE TABLE t (id int PRIMARY KEY, audio bytea, a embedding, b embedding);
	INSERT INTO t VALUES (1, '\x00', NULL, NULL);
});

# a session that is filling t.a holds the column's lock, as a fill does
my $filler = $node->background_psql('postgres');
my $pid = $filler->query_safe(q{
	SELECT pg_advisory_lock(k.k1, k.k2) FROM instsim.fill_lock_key('t', 'a') k;
	SELECT pg_backend_pid();
});
$pid =~ s/\s+//g;

my ($ret, $out, $err) = $node->psql('postgres',
	"CALL instsim_fill_embeddings('t', 'audio', 'a')", extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($ret, 0, 'a second fill of the same column is refused');
like($err, qr/55P03/, '... with SQLSTATE 55P03 (lock_not_available)');
like($err, qr/being filled by another session \(backend PID \Q$pid\E\)/, '... naming the session that fills');

($ret, $out, $err) = $node->psql('postgres',
	"SET client_min_messages = error; CALL instsim_fill_embeddings('t', 'audio', 'b')");
is($ret, 0, 'another column of the same table can be filled meanwhile');

$filler->query_safe(q{SELECT pg_advisory_unlock(k.k1, k.k2) FROM instsim.fill_lock_key('t', 'a') k});
($ret, $out, $err) = $node->psql('postgres',
	"SET client_min_messages = error; CALL instsim_fill_embeddings('t', 'audio', 'a')");
is($ret, 0, 'once the first session is done, the column can be filled');
is($node->safe_psql('postgres', q{SELECT instsim.fill_lock_holder('t', 'a') IS NULL}),
	't', 'a finished fill releases its lock');
is($node->safe_psql('postgres', q{SELECT rows_failed, finished IS NOT NULL FROM instsim.fill_progress
	WHERE tbl = 't'::regclass AND emb_column = 'a'}), '1|t', 'and it recorded its work');

$filler->quit;
$node->stop;
done_testing();
