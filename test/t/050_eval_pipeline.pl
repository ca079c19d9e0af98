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
use File::Copy;
use IPC::Run;
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

# The mel cache follows the audio, one file per track: a copy of the corpus
# (the same files, times kept) reads the files the runs on the original
# wrote, and after one track is rendered again (another track's mix copied
# over its own) that track's features alone are computed afresh.
{
	system('cp', '-a', "$work/corpus", "$work/corpus-copy") == 0 or die "cp: $?";
	my @retrain = (
		"$bin/instsim-train", '--corpus', "$work/corpus-copy", '--instrument', 'mix',
		'--epochs', '1', '--segments-per-track', '15', '--eval-every', '0',
		'--threads', '2', '--cache', "$work/cache", '--out', "$work/cache-check.safetensors");
	# without --eval-every only the training tracks are read: one set; its
	# report says how many of its tracks came from their files, "R/T"; a run
	# that failed would report nothing, so each must succeed
	my $hits = sub {
		my ($o, $e) = ('', '');
		my $ok = IPC::Run::run([@retrain], '>', \$o, '2>', \$e);
		ok($ok && -s "$work/cache-check.safetensors", 'the run trained and wrote its model') or diag($e);
		unlink "$work/cache-check.safetensors";
		my @r = $e =~ /mel features \(mix\): \d+ segments; (\d+) tracks read from \S+, (\d+) computed/g;
		return @r == 2 ? "$r[0]/" . ($r[0] + $r[1]) : 'no report';
	};
	my $first = $hits->();
	my ($n) = $first =~ m{^(\d+)/\1$};
	ok($n && $n > 1, "a run on the copy reads every track's features from the original's cache ($first)");
	my ($train) = slurp_file("$work/corpus-copy/split.yaml") =~ /^train:\n- (\S+)/m;
	my ($other) = grep { !/\Q$train\E$/ } glob("$work/corpus-copy/Track*");
	copy("$other/mix.flac", "$work/corpus-copy/$train/mix.flac") or die "copy: $!";
	my @before = glob("$work/cache/mel-mix-*.bin");
	is($hits->(), ($n - 1) . "/$n", "... and once a training track's audio changed ($train) its own are computed again");
	is(scalar(() = glob("$work/cache/mel-mix-*.bin")), @before + 1, '... and cached under a new key');
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

# Issue #14: a bass model that hears the mix, trained with remixed triplets
# (half their positives from the song's own mix) and the bass stem model as
# teacher, is stored as input kind "mix"; the
# remix test evaluates it next to the stem model fed the mix.  On 30-s songs
# the 30-s window starting at 30 s moves back to 0.
mkdir "$work/mixin";
command_fails(
	[
		"$bin/instsim-train", '--corpus', "$work/corpus", '--instrument', 'bass',
		'--remix', '0.5', '--out', "$work/bad.safetensors"
	],
	'--remix without --input mix is refused');
command_fails_like(
	[
		"$bin/instsim-train", '--corpus', "$work/corpus", '--instrument', 'bass',
		'--input', 'mix', '--remix', '0.5', '--remix-other', 'maybe', '--out', "$work/bad.safetensors"
	],
	qr/bad value for --remix-other: maybe/,
	'--remix-other takes yes or no, and the refusal names the option');
command_fails_like(
	[
		"$bin/instsim-train", '--corpus', "$work/corpus", '--instrument', 'bass',
		'--input', 'mix', '--remix-own', '0.5', '--out', "$work/bad.safetensors"
	],
	qr/--remix-own and --remix-gain need --remix/,
	'--remix-own without --remix is refused: only remixed triplets have a positive to take from the mix');
command_fails_like(
	[
		"$bin/instsim-train", '--corpus', "$work/corpus", '--instrument', 'bass',
		'--input', 'mix', '--remix-gain', '6', '--out', "$work/bad.safetensors"
	],
	qr/--remix-gain need --remix/,
	'--remix-gain without --remix is refused: it sets the levels of remixed parts');
command_fails_like(
	[
		"$bin/instsim-train", '--corpus', "$work/corpus", '--instrument', 'bass',
		'--input', 'mix', '--remix', '0.5', '--remix-gain', '-3', '--out', "$work/bad.safetensors"
	],
	qr/bad value for --remix-gain: -3/,
	'a negative --remix-gain is refused: it is a range of dB either side');
command_fails_like(
	[
		"$bin/instsim-train", '--corpus', "$work/corpus", '--instrument', 'bass', '--input', 'mix',
		'--remix', '0.5', '--distill-own', 'yes', '--teacher', "$work/models/bass-seed1.safetensors",
		'--out', "$work/bad.safetensors"
	],
	qr/--distill-own needs --teacher and --remix-own/,
	'--distill-own without --remix-own is refused: it distils the positives taken from the mix');
# The same run with the own-mix positives distilled and without: the share
# of rows given a teacher target, which the trainer reports, must grow.
# Negatives re-picked within the batch, as piano_mix is trained.
my %distilled_share;
for my $own (qw(no yes))
{
	my ($out, $err);
	my $ok = IPC::Run::run(
		[
			"$bin/instsim-train", '--corpus', "$work/corpus", '--instrument', 'bass',
			'--input', 'mix', '--remix', '0.5', '--remix-own', '0.5', '--distill-own', $own, '--mining', 'semihard',
			'--teacher', "$work/models/bass-seed1.safetensors", '--seed', '1', '--epochs', '1',
			'--segments-per-track', '15', '--eval-every', '0', '--threads', '2', '--cache', "$work/cache",
			'--out', $own eq 'yes' ? "$work/mixin/bass_mix-seed1.safetensors" : "$work/bass_mix-own-plain.safetensors"
		],
		'>', \$out, '2>', \$err);
	ok($ok, "bass_mix trained with remixed triplets and a teacher, --distill-own $own");
	($distilled_share{$own}) = $err =~ /distillation [0-9.]+ on ([0-9.]+)% of rows/;
}
my ($plain, $own_distilled) = map { $distilled_share{$_} // -1 } qw(no yes);
ok($plain >= 0 && $own_distilled > $plain,
	"--distill-own yes gives more rows a teacher target ($plain% -> $own_distilled%; -1: not reported)");
# The teacher's feature map as a hint: the student's map after its first
# block pulled toward the stem model's after its first block (both 16
# channels at the same size); the trainer reports the map's loss.  A student
# whose first block is of another width has no map to match.
{
	my @hint = (
		"$bin/instsim-train", '--corpus', "$work/corpus", '--instrument', 'bass',
		'--input', 'mix', '--remix', '0.5', '--seed', '1', '--epochs', '1',
		'--segments-per-track', '15', '--eval-every', '0', '--threads', '2', '--cache', "$work/cache",
		'--out', "$work/bass_mix-map.safetensors");
	command_fails_like([ @hint, '--distill-map', '1' ], qr/--distill-map needs --teacher/,
		'--distill-map without --teacher is refused');
	my ($o, $e);
	ok(IPC::Run::run([ @hint, '--teacher', "$work/models/bass-seed1.safetensors", '--distill-map', '1' ],
			'>', \$o, '2>', \$e),
		'bass_mix trained with the teacher\'s feature map as a hint') or diag($e);
	my ($map) = $e =~ /distillation [0-9.]+, map ([0-9.]+) on/;
	ok(defined $map && $map > 0 && $map < 1, 'the trainer reports the map\'s loss (' . ($map // 'none') . ')');
	command_fails_like(
		[ @hint, '--teacher', "$work/models/bass-seed1.safetensors", '--distill-map', '1',
			'--channels', '8,16,32,64' ],
		qr/its map after 1 blocks is 16 x \d+ x \d+, the student's \d+ floats/,
		'a student whose first block is narrower than the teacher\'s is refused');
}
# An ensemble of stem teachers (A+B, two seeds of the bass stem model): the
# target is their mean direction.
# A+A teaches what A does; A+B neither what A nor what B does, so the
# second member is heard, and A+B+B otherwise than A+B, so a third is
# (the loss is a cosine, so the renormalisation itself is not seen here).
# Only stem models join, and a feature-map hint takes one teacher.
{
	my $ta = "$work/models/bass-seed1.safetensors";
	my $tb = "$work/ensemble/bass-seed2.safetensors";
	mkdir "$work/ensemble";
	command_ok(
		[
			"$bin/instsim-train", '--corpus', "$work/corpus", '--instrument', 'bass', '--seed', '2',
			'--epochs', '1', '--segments-per-track', '15', '--eval-every', '0', '--threads', '2',
			'--cache', "$work/cache", '--out', $tb
		],
		'a second bass stem model trained (seed 2)');
	my @student = (
		"$bin/instsim-train", '--corpus', "$work/corpus", '--instrument', 'bass',
		'--input', 'mix', '--remix', '1.0', '--seed', '1', '--epochs', '1',
		'--segments-per-track', '15', '--eval-every', '0', '--threads', '2', '--cache', "$work/cache",
		'--out', "$work/ensemble/student.safetensors");
	my %distill;
	my %name = ($ta => 'A', $tb => 'B', "$ta+$ta" => 'A+A', "$ta+$tb" => 'A+B', "$ta+$tb+$tb" => 'A+B+B');
	for my $teacher ($ta, $tb, "$ta+$ta", "$ta+$tb", "$ta+$tb+$tb")
	{
		my ($o, $e);
		ok(IPC::Run::run([ @student, '--teacher', $teacher ], '>', \$o, '2>', \$e),
			"bass_mix distilled from $name{$teacher}") or diag($e);
		($distill{$teacher}) = $e =~ /distillation ([0-9.]+) on/;
		$distill{$teacher} //= -1;
	}
	ok(abs($distill{"$ta+$ta"} - $distill{$ta}) < 0.0005 && $distill{$ta} > 0,
		"an ensemble of one model twice teaches as the model ($distill{\"$ta+$ta\"} against $distill{$ta})");
	ok($distill{"$ta+$tb"} > 0 && abs($distill{"$ta+$tb"} - $distill{$ta}) > 0.001
		  && abs($distill{"$ta+$tb"} - $distill{$tb}) > 0.001,
		"A+B teaches neither as A nor as B ($distill{\"$ta+$tb\"} against $distill{$ta} and $distill{$tb})");
	ok($distill{"$ta+$tb+$tb"} > 0 && abs($distill{"$ta+$tb+$tb"} - $distill{"$ta+$tb"}) > 0.001,
		"a third member is heard too: A+B+B teaches otherwise than A+B ($distill{\"$ta+$tb+$tb\"})");
	my $mix_model = "$work/mixin/bass_mix-seed1.safetensors";
	command_fails_like([ @student, '--teacher', "$ta+$mix_model" ],
		qr/bass_mix-seed1.safetensors is a mix model; an ensemble of teachers takes stem models only/,
		'a mix model in an ensemble of teachers is refused');
	command_fails_like([ @student, '--teacher', "$mix_model+$ta" ],
		qr/bass_mix-seed1.safetensors is a mix model; an ensemble of teachers takes stem models only/,
		'... first in it too');
	command_fails_like([ @student, '--teacher', "$ta+" ],
		qr/an empty model path \(an ensemble is A\+B\+\.\.\.\)/, 'an ensemble with an empty member is refused');
	command_fails_like([ @student, '--teacher', "$ta+$work/ensemble/none.safetensors" ],
		qr/teacher \S+none.safetensors: /, 'a missing member of an ensemble is named');
	command_fails_like([ @student, '--teacher', "$ta+$tb", '--distill-map', '1' ],
		qr/--distill-map needs one teacher model, not an ensemble/,
		'a feature-map hint from an ensemble is refused');
}
# A run stopped after an epoch and resumed from its checkpoint makes the
# model of the run that went straight through, byte for byte: with remixes,
# a teacher and negatives mined from a bank of earlier batches, all of whose
# state (the sampler's order, the bank) the checkpoint must hold.
{
	my @without_bank = (
		"$bin/instsim-train", '--corpus', "$work/corpus", '--instrument', 'bass',
		'--input', 'mix', '--remix', '0.5', '--remix-own', '0.5', '--mining', 'semihard',
		'--teacher', "$work/models/bass-seed1.safetensors", '--seed', '2',
		'--segments-per-track', '15', '--eval-every', '0', '--threads', '2', '--cache', "$work/cache");
	my @run = (@without_bank, '--mining-bank', '300');
	my %sha;
	for my $how (qw(straight first resumed))
	{
		my ($o, $e);
		my @extra = $how eq 'straight' ? ('--epochs', '2')
		  : $how eq 'first' ? ('--epochs', '1', '--checkpoint', "$work/resume.ckpt")
		  : ('--epochs', '2', '--resume', "$work/resume.ckpt");
		ok(IPC::Run::run([ @run, @extra, '--out', "$work/resume-$how.safetensors" ], '>', \$o, '2>', \$e),
			"bass_mix with a mining bank, $how") or diag($e);
		($sha{$how}) = $e =~ /wrote \S+ \(sha256 ([0-9a-f]+)\)/;
	}
	ok(defined $sha{straight} && defined $sha{resumed} && $sha{straight} eq $sha{resumed}
		  && $sha{first} ne $sha{straight},
		'two epochs straight = one epoch, then resumed from its checkpoint for the second');
	command_fails_like(
		[ @run, '--epochs', '2', '--segments-per-track', '14', '--resume', "$work/resume.ckpt",
			'--out', "$work/bad.safetensors" ],
		qr/training set of \d+ segments, this one has \d+/,
		'a checkpoint resumed on another training set is refused');
	command_fails_like(
		[ @without_bank, '--epochs', '2', '--resume', "$work/resume.ckpt", '--out', "$work/bad.safetensors" ],
		qr/trailing data \(such as the mining bank/,
		'a checkpoint with a bank resumed without --mining-bank is refused');
}
command_ok([ 'cp', "$work/models/bass-seed1.safetensors", "$work/mixin/" ], 'stem model beside it');
$node->safe_psql('postgres',
	"SELECT instsim_model_load('bass_mix', pg_read_binary_file('$work/mixin/bass_mix-seed1.safetensors'))");
is($node->safe_psql('postgres', "SELECT instrument || ' ' || input FROM instsim.models WHERE name = 'bass_mix'"),
	'bass mix', 'the server shows the bass model from the mix');
# instsim-eval --remix on the mixin models into $work/NAME with more
# options; the lines of its remix.csv
sub remix_eval
{
	my ($name, @more) = @_;
	command_ok(
		[
			"$bin/instsim-eval", '--remix', '--corpus', "$work/corpus", '--models', "$work/mixin",
			'--out', "$work/$name", '--jobs', '2', @more
		],
		join(' ', 'instsim-eval --remix', @more, 'ran'));
	return split /\n/, slurp_file("$work/$name/remix.csv");
}
my @rows = remix_eval('remix');
is(scalar @rows, 3, 'remix.csv: a header and two rows');
for my $row (@rows[ 1 .. $#rows ])
{
	my @f = split /,/, $row, -1;
	my $what = "$f[0] $f[1]";
	is($f[0], 'bass', "$what: instrument");
	is($f[3] + $f[4], 6, "$what: every ordered pair of the 3 test tracks, scored or skipped");
	ok($f[5] >= 0 && $f[5] <= 100 && $f[6] <= $f[5], "$what: remix % in range, rank-1 not above it");
	ok($f[7] > 0 && $f[7] <= 100, "$what: music-ID from the mix in range");
	ok($f[10] > 0 && $f[10] <= 100, "$what: the stem model's music-ID on the stems in range");
	ok(abs($f[11]) <= 1 + 1e-9, "$what: Pearson against the stem model in [-1, 1]");
}
like($rows[1] . $rows[2], qr/^bass,stem,.*bass,mix,/, 'the stem model (baseline) first, then the mix model');
is((split /,/, $rows[1])[10], (split /,/, $rows[2])[10],
	"both rows compare with one figure: the stem model's music-ID on the same songs' stems");
like(slurp_file("$work/remix/remix.md"), qr/\| bass \| mix \|/, 'remix.md has the table');

# Music-ID as on the paper's 19 test tracks: with only 3, one set, all of them.
for my $row (@rows[ 1 .. $#rows ])
{
	my @f = split /,/, $row, -1;
	is_deeply([ @f[ 15 .. 17 ] ], [ 3, $f[7], $f[10] ],
		"$f[1] row: music-ID on 19 tracks, of 3, is one set of all 3, the stem model's too");
}
my @two = remix_eval('remix-2', '--music-id-tracks', '2');
for my $i (1, 2)
{
	my @f = split /,/, $two[$i], -1;
	ok($f[15] == 2 && $f[16] > 0 && $f[16] <= 100 && $f[17] > 0 && $f[17] <= 100,
		"$f[1] row: music-ID on sets of 2 tracks in range ($f[16], stem models $f[17])");
}
like(slurp_file("$work/remix-2/remix.md"), qr/## Music-ID on 2 tracks.*\| bass \| mix \| 2 \| [0-9.]+ \| [0-9.]+ \| 84\.63 \|/s,
	'remix.md has the table on 2 tracks beside the paper\'s figure');
command_fails_like(
	[ "$bin/instsim-eval", '--remix', '--corpus', "$work/corpus", '--models', "$work/mixin", '--music-id-tracks', '1' ],
	qr/bad value for --music-id-tracks: 1/, 'music-ID on one track is refused: nothing to tell apart');
command_fails_like(
	[ "$bin/instsim-eval", '--corpus', "$work/corpus", '--models', "$work/mixin", '--music-id-tracks', '19' ],
	qr/--music-id-tracks is for --remix/, '--music-id-tracks without --remix is refused');

# The paper's separated row scores only the windows where the instrument
# sounds: --mix-windows plays narrows music-ID and the distances to those.
my @plays = remix_eval('remix-plays', '--mix-windows', 'plays');
for my $i (1, 2)
{
	my @all = split /,/, $rows[$i], -1;
	my @only = split /,/, $plays[$i], -1;
	is_deeply([ @only[ 0 .. 6 ] ], [ @all[ 0 .. 6 ] ], "$all[1] row: the remix test does not change");
	ok($only[9] > 0 && $only[9] <= $all[9],
		"$all[1] row: $only[9] of the mix's $all[9] sounding windows have the bass");
}
like(slurp_file("$work/remix-plays/remix.md"), qr/the mix's windows where the instrument plays/,
	'remix.md says which windows music-ID used');
command_fails_like(
	[ "$bin/instsim-eval", '--corpus', "$work/corpus", '--models', "$work/mixin", '--mix-windows', 'all' ],
	qr/--mix-windows is for --remix/, '--mix-windows without --remix is refused, even its default');

# One trunk with a head (own last conv block) per instrument, trained
# together: each head is written as a model of its own, and one call of
# both runs the shared blocks once with the results of separate calls.
mkdir "$work/joint";
my @joint = (
	"$bin/instsim-train", '--corpus', "$work/corpus", '--input', 'mix', '--remix', '0.5',
	'--seed', '1', '--epochs', '1', '--segments-per-track', '15', '--eval-every', '0',
	'--threads', '2', '--cache', "$work/cache");
command_fails([ @joint, '--instrument', 'bass,drums', '--out', "$work/joint/one.safetensors" ],
	'several instruments need a %s in --out');
command_fails(
	[
		@joint, '--instrument', 'bass,drums', '--teacher', "$work/models/bass-seed1.safetensors",
		'--out', "$work/joint/%s_mix.safetensors"
	],
	'... and a teacher per instrument');
command_ok(
	[
		@joint, '--instrument', 'bass,drums', '--head-channels', '16',
		'--teacher', "$work/models/bass-seed1.safetensors,$work/models/drums-seed1.safetensors",
		'--out', "$work/joint/%s_mix.safetensors"
	],
	'bass and drums heads trained on one trunk');
ok(-s "$work/joint/bass_mix.safetensors" && -s "$work/joint/drums_mix.safetensors",
	'... written as two models');
my ($song) = glob("$work/corpus/Track*/mix.flac");
$node->safe_psql('postgres', qq{
	SELECT instsim_model_load('joint_bass', pg_read_binary_file('$work/joint/bass_mix.safetensors'));
	SELECT instsim_model_load('joint_drums', pg_read_binary_file('$work/joint/drums_mix.safetensors'));
	CREATE TABLE song AS SELECT pg_read_binary_file('$song') AS audio});
is($node->safe_psql('postgres', q{
	SELECT string_agg(instrument || ' ' || input, ', ' ORDER BY name) FROM instsim.models
	WHERE name LIKE 'joint%'}), 'bass mix, drums mix', '... each with its instrument, input mix');
is($node->safe_psql('postgres', q{
	SELECT e[1] = instsim_embed(audio, 'joint_bass') AND e[2] = instsim_embed(audio, 'joint_drums')
	       AND e[1] <> e[2]
	FROM song, LATERAL (SELECT instsim_embed(audio, ARRAY['joint_bass', 'joint_drums']) AS e) x}),
	't', 'both heads in one call (shared trunk) equal separate calls, and differ');

# A mix-input model on the mix model's first two blocks, frozen (--trunk):
# its file holds those blocks' tensors byte for byte, and one call with the
# mix model equals separate calls (that the call shares those blocks follows
# from the equal tensors: test_train_trunk checks the shared prefix).
my $trunk = "$work/models/mix-seed1.safetensors";
command_fails_like([ @joint, '--instrument', 'bass,drums', '--trunk', "$trunk:2",
		'--out', "$work/joint/%s_t.safetensors" ], qr/trains one instrument/,
	'--trunk with several instruments is refused');
command_fails_like([ @joint, '--instrument', 'bass', '--trunk', "$trunk:4",
		'--out', "$work/joint/t.safetensors" ], qr/at least one more/, 'a trunk of every block is refused');
command_fails_like([ @joint, '--instrument', 'bass', '--trunk', "$work/models/bass-seed1.safetensors:2",
		'--out', "$work/joint/t.safetensors" ], qr/hears the bass signal/,
	'a trunk that hears a stem is refused for a model that hears the mix');
command_ok([ @joint, '--instrument', 'bass', '--trunk', "$trunk:2", '--channels', '8,16',
		'--teacher', "$work/models/bass-seed1.safetensors", '--out', "$work/joint/bass_trunk.safetensors" ],
	'bass_mix trained on the mix model\'s first two blocks');

# name => [bytes, shape] of every tensor of a safetensors file
sub tensors
{
	my $raw = slurp_file(shift);
	my $len = unpack('Q<', substr($raw, 0, 8));
	my $hdr = decode_json(substr($raw, 8, $len));
	return { map { my $o = $hdr->{$_}{data_offsets};
			($_ => [ substr($raw, 8 + $len + $o->[0], $o->[1] - $o->[0]), join('x', @{ $hdr->{$_}{shape} }) ]) }
		  grep { $_ ne '__metadata__' } keys %$hdr };
}
my ($t, $m) = (tensors($trunk), tensors("$work/joint/bass_trunk.safetensors"));
my @frozen = grep { /^(\d+)\./ && $1 < 8 } sort keys %$t;
is(scalar @frozen, 12, 'the trunk\'s first two blocks have twelve tensors (conv weight and bias, batch-norm four, each)');
ok(!grep({ !defined $m->{$_} || $m->{$_}[0] ne $t->{$_}[0] } @frozen), '... each in the trained model, unchanged');
is($m->{'8.weight'}[1], '8x32x3x3', 'the third block is the trained one (--channels 8,16 after 32 channels)');
$node->safe_psql('postgres', qq{
	SELECT instsim_model_load('trunk_mix', pg_read_binary_file('$trunk'));
	SELECT instsim_model_load('trunk_bass', pg_read_binary_file('$work/joint/bass_trunk.safetensors'))});
is($node->safe_psql('postgres', q{
	SELECT e[1] = instsim_embed(audio, 'trunk_mix') AND e[2] = instsim_embed(audio, 'trunk_bass')
	FROM song, LATERAL (SELECT instsim_embed(audio, ARRAY['trunk_mix', 'trunk_bass']) AS e) x}),
	't', 'mix and the model on its blocks in one call equal separate calls');

$node->stop;
done_testing();
