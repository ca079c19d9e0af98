# The instsim_hnsw meta page across versions: an index written before the
# storage option (meta page version 1) reads as float storage whatever the
# byte where version 2 keeps the storage holds, and still answers, takes
# inserts and VACUUM; an unknown version or storage is refused with a hint to
# REINDEX, which repairs it.  The meta page is edited on disk while the server
# is down (the cluster has no data checksums).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('hnsw_meta_version');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION instsim;
	CREATE FUNCTION vec(i int) RETURNS embedding LANGUAGE sql IMMUTABLE
		RETURN ARRAY[sin(i), cos(i), sin(2*i), cos(3*i), sin(i*0.1), cos(i*0.7), i % 13, 1]::float8[];
	CREATE TABLE v (id int PRIMARY KEY, emb embedding(8));
	INSERT INTO v SELECT i, vec(i) FROM generate_series(1, 3000) i;
	CREATE INDEX v_cos ON v USING instsim_hnsw (emb embedding_cosine_ops);
});
is($node->safe_psql('postgres', q{SHOW data_checksums}), 'off',
	'no data checksums: the meta page can be edited on disk');

my $file = $node->data_dir . '/' . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('v_cos')});

# Offsets in block 0: the 24-byte page header, then the meta page data:
# magic (4), version (4), ..., storage at byte 28 of the struct.
my $VERSION_AT = 24 + 4;
my $STORAGE_AT = 24 + 28;

sub patch
{
	my ($at, $bytes) = @_;
	$node->stop;
	open(my $fh, '+<:raw', $file) or die "cannot open $file: $!";
	seek($fh, $at, 0) or die;
	print $fh $bytes;
	close($fh) or die;
	$node->start;
}

sub meta_bytes
{
	open(my $fh, '<:raw', $file) or die "cannot open $file: $!";
	my $buf;
	read($fh, $buf, 64);
	close($fh);
	return (unpack('V', substr($buf, $VERSION_AT, 4)), unpack('C', substr($buf, $STORAGE_AT, 1)));
}

my $query = q{SELECT string_agg(id::text, ',' ORDER BY id)
	FROM (SELECT id FROM v ORDER BY emb <=> '[0.1,0.2,0.3,0.4,0.5,0.6,7,1]' LIMIT 10) s};
my $exact = $node->safe_psql('postgres', "SET enable_indexscan = off; $query");
my $by_index = "SET enable_seqscan = off; SET instsim.ef_search = 400; $query";

$node->stop;
my ($version, $storage) = meta_bytes();
is("$version $storage", '2 0', 'a new float index has meta version 2, storage 0');
$node->start;

# version 1, and a non-zero byte where version 2 keeps the storage
patch($VERSION_AT, pack('V', 1));
patch($STORAGE_AT, pack('C', 7));
is($node->safe_psql('postgres', $by_index), $exact, 'a version-1 index reads as float storage');
$node->safe_psql('postgres', q{
	INSERT INTO v SELECT i, vec(i) FROM generate_series(3001, 3200) i;
	DELETE FROM v WHERE id % 5 = 0;
	VACUUM v;
});
is($node->safe_psql('postgres', q{SELECT unreachable || ' ' || stranded FROM instsim_hnsw_check('v_cos')}),
	'0 0', 'a version-1 index takes inserts and VACUUM');
$exact = $node->safe_psql('postgres', "SET enable_indexscan = off; $query");
is($node->safe_psql('postgres', $by_index), $exact, 'and answers like the exact scan after them');

# an unknown storage in a version-2 meta page, then an unknown version
patch($VERSION_AT, pack('V', 2));
my ($ret, $out, $err) = $node->psql('postgres', $by_index);
like($err, qr/has version 2 \(storage 7\).*\n.*REINDEX/, 'version 2 with an unknown storage is refused');
patch($VERSION_AT, pack('V', 3));
($ret, $out, $err) = $node->psql('postgres', "INSERT INTO v VALUES (9999, '[1,1,1,1,1,1,1,1]')");
like($err, qr/has version 3/, 'an unknown version is refused, on insert too');
$node->safe_psql('postgres', 'REINDEX INDEX v_cos');
is($node->safe_psql('postgres', $by_index), $exact, 'REINDEX repairs it');

$node->stop;
done_testing();
