# The whole evaluation pipeline on a tiny corpus: generate a corpus, train a
# model per instrument (two seeds for the mix, for a mean and a variance),
# load them into PostgreSQL, embed the test tracks on the server, index the
# segments with instsim_hnsw, and evaluate (instsim-eval), which must find the
# same neighbours through the index as its exact in-memory kNN.  Then the
# report and figures (tools/plot_eval.py) when matplotlib and scikit-learn
# are there.  The tools come from $INSTSIM_BIN (default $INSTSIM_ROOT/build)
# and the plot script is $INSTSIM_PLOT (default
# $INSTSIM_ROOT/tools/plot_eval.py): a runner whose checkout the postgres
# user cannot read copies them somewhere it can and points these there.
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $root = $ENV{INSTSIM_ROOT} // '';
my $bin = $ENV{INSTSIM_BIN} // "$root/build";
my $plot = $ENV{INSTSIM_PLOT} // "$root/tools/plot_eval.py";
plan skip_all => 'neither INSTSIM_BIN nor INSTSIM_ROOT is set'
  unless $ENV{INSTSIM_BIN} || $root;
for my $tool (qw(synth train eval))
{
	plan skip_all => "$bin/instsim-$tool is not built (make tools)"
	  unless -x "$bin/instsim-$tool";
}

my $work = PostgreSQL::Test::Utils::tempdir;
my @instruments = qw(mix drums bass piano guitar);

# Six 30-s songs, half of them held out: 3 test tracks of about 15-20
# segments each, enough for a 5-NN vote and a 3 x 3 distance matrix.
command_ok(
	[
		"$bin/instsim-synth", 'generate', '--out', "$work/corpus",
		'--tracks', '6', '--seed', '7', '--seconds', '30',
		'--min-segments', '15', '--test-fraction', '0.5', '--jobs', '2'
	],
	'corpus generated');
ok(-f "$work/corpus/split.yaml", 'split written');

mkdir "$work/models";
for my $inst (@instruments)
{
	for my $seed ($inst eq 'mix' ? (1, 2) : (1))
	{
		command_ok(
			[
				"$bin/instsim-train", '--corpus', "$work/corpus",
				'--instrument', $inst, '--seed', $seed,
				'--epochs', '1', '--segments-per-track', '15',
				'--eval-every', '0', '--threads', '2', '--cache', "$work/cache",
				'--out', "$work/models/$inst-seed$seed.safetensors"
			],
			"$inst model trained (seed $seed)");
	}
}

my $node = PostgreSQL::Test::Cluster->new('eval');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION instsim');

command_ok(
	[
		"$bin/instsim-eval", '--corpus', "$work/corpus",
		'--models', "$work/models", '--out', "$work/out",
		'--db', $node->connstr('postgres'), '--jobs', '2'
	],
	'instsim-eval ran in memory and through the extension');

my $results = do
{
	local $/;
	open my $fh, '<', "$work/out/results.json" or die "results.json: $!";
	decode_json(<$fh>);
};

is_deeply([ sort keys %{ $results->{instruments} } ], [ sort @instruments ],
	'every instrument evaluated');
ok($results->{run}{sql_index}, 'the kNN went through the index');
for my $inst (@instruments)
{
	my $r = $results->{instruments}{$inst};
	ok($r->{segments} >= 45, "$inst: every test segment embedded ($r->{segments})");
	ok($r->{accuracy_mean} >= 0 && $r->{accuracy_mean} <= 1, "$inst: accuracy in range");
	for my $m (@{ $r->{models} })
	{
		my $s = $m->{sql};
		my $what = "$inst seed $m->{seed}";
		ok($s && $s->{index_used}, "$what: index scan");
		cmp_ok($s->{max_embedding_diff}, '<', 1e-5,
			"$what: the server's embeddings equal the in-memory ones");
		is($s->{list_mismatches}, 0, "$what: index kNN equals exact kNN (recall $s->{recall})");
		is($s->{vote_mismatches}, 0, "$what: same votes");
		is($s->{accuracy}, $m->{accuracy}, "$what: same accuracy");
	}
}
is(scalar @{ $results->{instruments}{mix}{models} }, 2, 'two mix models averaged');
is(scalar @{ $results->{table3} }, 10, 'Table III has every pair');
for my $p (@{ $results->{table3} })
{
	ok(defined $p->{pearson} && abs($p->{pearson}) <= 1 + 1e-9,
		"$p->{a}-$p->{b}: Pearson in [-1, 1]");
}

# The work tables and models are dropped after the run.
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_class WHERE relname LIKE 'instsim\\_eval\\_%'"),
	'0', 'work tables dropped');

SKIP:
{
	my $py = '/usr/bin/python3';
	skip 'matplotlib or scikit-learn missing', 3
	  unless system("$py -c 'import matplotlib, sklearn' 2>/dev/null") == 0;
	command_ok([ $py, $plot, "$work/out" ], 'report and figures');
	ok(-s "$work/out/fig3_tsne.png" && -s "$work/out/fig4_distances.png", 'figures written');
	like(slurp_file("$work/out/report.md"), qr/Table II.*Table III/s, 'report has both tables');
}

$node->stop;
done_testing();
