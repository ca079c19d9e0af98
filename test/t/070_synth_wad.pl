# instsim-synth render on what a real-MIDI corpus is made of: a WAD built
# here (two MIDI songs, one of them twice, a MUS song, a marker and a
# graphic), a directory with MIDI files (one repeating a WAD song), a
# truncated WAD and a file that is not MIDI.  The run must render each song
# once, name WAD songs "WAD:LUMP", say what it skipped and why, record which
# of two soundfonts played each stem, and write byte-identical files with
# --jobs 1 and --jobs 2.  No server is needed.  The tool comes from
# $INSTSIM_BIN (default $INSTSIM_ROOT/build).
use strict;
use warnings;
use File::Compare;
use File::Find;
use PostgreSQL::Test::Utils;
use Test::More;

my $root = $ENV{INSTSIM_ROOT} // '';
my $bin = $ENV{INSTSIM_BIN} // "$root/build";
my $synth = "$bin/instsim-synth";
my $gm = '/usr/share/sounds/sf2/FluidR3_GM.sf2';
plan skip_all => 'neither INSTSIM_BIN nor INSTSIM_ROOT is set'
  unless $ENV{INSTSIM_BIN} || $root;
plan skip_all => "$synth is not built (make tools)" unless -x $synth;
plan skip_all => "$gm is missing (Debian fluid-soundfont-gm)" unless -r $gm;

my $work = PostgreSQL::Test::Utils::tempdir;

sub write_file
{
	my ($path, $data) = @_;
	open my $fh, '>:raw', $path or die "$path: $!";
	print $fh $data;
	close $fh or die "$path: $!";
}

# A format-1 MIDI file, 480 ticks a beat at 120 bpm: per track a channel, a
# program and notes (key, start beat, beats), one after the other.
sub midi
{
	my @tracks = @_;
	my $out = pack('a4 N n n n', 'MThd', 6, 1, scalar @tracks, 480);
	for my $t (@tracks)
	{
		my ($ch, $prog, @notes) = @$t;
		my @ev;    # [tick, bytes]
		push @ev, [ 0, pack('C C', 0xC0 | $ch, $prog) ];
		for my $n (@notes)
		{
			my ($key, $at, $len) = @$n;
			push @ev, [ $at * 480, pack('C3', 0x90 | $ch, $key, 100) ];
			push @ev, [ ($at + $len) * 480 - 1, pack('C3', 0x80 | $ch, $key, 0) ];
		}
		my ($body, $now) = ('', 0);
		for my $e (sort { $a->[0] <=> $b->[0] } @ev)
		{
			$body .= pack('w', $e->[0] - $now) . $e->[1];
			$now = $e->[0];
		}
		$body .= pack('w C3', 0, 0xFF, 0x2F, 0);
		$out .= pack('a4 N', 'MTrk', length $body) . $body;
	}
	return $out;
}

# A PWAD: lumps after the 12-byte header, the directory at the end.
sub wad
{
	my @lumps = @_;    # [name, data]
	my ($data, $dir) = ('', '');
	for my $l (@lumps)
	{
		$dir .= pack('V V a8', 12 + length $data, length $l->[1], $l->[0]);
		$data .= $l->[1];
	}
	return pack('a4 V V', 'PWAD', scalar @lumps, 12 + length $data) . $data . $dir;
}

# Eight beats (4 s) each: piano and bass, piano and drums, bass and guitar.
my $one = midi([ 0, 0, map { [ 60 + $_ % 5, $_, 1 ] } 0 .. 7 ],
	[ 1, 33, map { [ 36, 2 * $_, 2 ] } 0 .. 3 ]);
my $two = midi([ 0, 0, map { [ 64, $_, 1 ] } 0 .. 7 ],
	[ 9, 0, map { [ 36 + 2 * ($_ % 2), $_, 1 ] } 0 .. 7 ]);
my $three = midi([ 1, 33, map { [ 40, $_, 1 ] } 0 .. 7 ],
	[ 2, 27, map { [ 52, 2 * $_, 2 ] } 0 .. 3 ]);
my $game = wad(
	[ 'D_ONE', $one ],
	[ 'D_E1M1', "MUS\x1a" . "\0" x 12 ],
	[ 'F_START', '' ],
	[ 'TITLEPIC', join('', map { chr($_ * 7 % 256) } 0 .. 99) ],
	[ 'D_TWO', $two ],
	[ 'D_COPY', $one ]);

my $in = "$work/in";
mkdir $in;
mkdir "$in/songs";
write_file("$in/game.wad", $game);
write_file("$in/broken.wad", substr($game, 0, length($game) - 5));
write_file("$in/songs/three.mid", $three);
write_file("$in/songs/two again.MID", $two);
write_file("$in/songs/notes.mid", "not a MIDI file at all");
write_file("$in/songs/readme.txt", 'ignored: neither .mid, .midi nor .wad');
# FluidR3 under a second file name: a second soundfont as far as the metadata goes
symlink $gm, "$work/Alias_GM.sf2" or die "symlink: $!";

# Returns (exit status is 0, stdout, stderr).
sub render
{
	my ($out, $jobs) = @_;
	my ($stdout, $stderr) = ('', '');
	my $ok = run_log(
		[
			$synth, 'render', '--midi', $in, '--out', $out,
			'--jobs', $jobs, '--soundfont', $gm,
			'--soundfont', "$work/Alias_GM.sf2", '--soundfont-choice', 'stem',
			'--seed', '1', '--no-select'
		],
		'>', \$stdout, '2>', \$stderr);
	return ($ok, $stdout, $stderr);
}

my ($ok, $stdout, $stderr) = render("$work/out1", 1);
ok($ok, 'render succeeds despite the unusable inputs');
like($stdout,
	qr/game\.wad: 3 MIDI songs; skipped 1 MUS songs, 1 empty markers and 1 other lumps/,
	'the WAD: its MIDI lumps counted, what was skipped said');
like($stdout, qr/game\.wad:D_COPY: skipped, the same MIDI data as game\.wad:D_ONE/,
	'a lump repeating another is rendered once');
like($stdout, qr{two again\.MID: skipped, the same MIDI data as game\.wad:D_TWO},
	'a file repeating a lump is rendered once');
like($stderr, qr/broken\.wad: damaged or truncated WAD.*\(skipped\)/,
	'a truncated WAD is reported and skipped');
like($stderr, qr/notes\.mid is neither a Standard MIDI File/, 'a .mid that is no MIDI too');
like($stdout, qr/3 songs to render \(2 duplicates and 2 unusable files skipped\)/,
	'the count of songs to render');

my %source;
my %fonts;
for my $t (1 .. 3)
{
	my $meta = slurp_file(sprintf("$work/out1/Track%05d/metadata.yaml", $t));
	($source{$t}) = $meta =~ /^source: (.*)$/m;
	$fonts{$_}++ for $meta =~ /^\s+soundfont: (.*)$/mg;
}
ok(!-e "$work/out1/Track00004", 'three tracks');
is_deeply(\%source,
	{ 1 => 'game.wad:D_ONE', 2 => 'game.wad:D_TWO', 3 => "$in/songs/three.mid" },
	'WAD songs are named WAD:LUMP, files by their path, in input order');
is_deeply([ sort keys %fonts ], [ 'Alias_GM.sf2', 'FluidR3_GM.sf2' ],
	'each stem names its soundfont; per stem, both were drawn');

($ok) = render("$work/out2", 2);
ok($ok, 'render with two jobs');
my @files;
find(sub { push @files, $File::Find::name =~ s{^\Q$work/out1/\E}{}r if -f }, "$work/out1");
my @differ = grep { compare("$work/out1/$_", "$work/out2/$_") != 0 } @files;
ok(@files >= 12 && !@differ,
	scalar(@files) . ' files identical with --jobs 1 and --jobs 2'
	  . (@differ ? " (differ: @differ)" : ''));

# A split for a bass model with one soundfont's songs held out: one soundfont
# per song, so that every track is played by one of them alone.
($stdout, $stderr) = ('', '');
ok( run_log(
		[
			$synth, 'render', '--midi', $in, '--out', "$work/out4", '--jobs', '2',
			'--soundfont', $gm, '--soundfont', "$work/Alias_GM.sf2", '--seed', '3',
			'--no-select'
		],
		'>', \$stdout, '2>', \$stderr),
	'render with a soundfont per song');
my %want = (train => [], test => [], excluded => []);
for my $t (1 .. 3)
{
	my $name = sprintf('Track%05d', $t);
	my $meta = slurp_file("$work/out4/$name/metadata.yaml");
	my $list = $meta !~ /^\s+inst_class: Bass$/m ? 'excluded'
	  : $meta =~ /^\s+soundfont: Alias_GM\.sf2$/m ? 'test' : 'train';
	push @{ $want{$list} }, $name;
}
ok(@{ $want{test} } == 1 && @{ $want{train} } == 1,
	'seed 3 drew Alias_GM for one song with bass and FluidR3 for the other (so the split tests both)');
($stdout, $stderr) = ('', '');
ok( run_log(
		[
			$synth, 'select', "$work/out4", '--instrument', 'bass', '--min-segments', '1',
			'--test-soundfont', 'Alias_GM', '--split-out', "$work/bass.yaml"
		],
		'>', \$stdout, '2>', \$stderr),
	'select --instrument bass --test-soundfont Alias_GM') or diag $stderr;
my (%got, $list) = (train => [], test => [], excluded => []);
for (split /\n/, slurp_file("$work/bass.yaml"))
{
	$list = $1 if /^(\w+):/;
	push @{ $got{$list} }, $1 if /^- (\S+)/;
}
is_deeply({ map { $_ => $got{$_} } qw(train test excluded) }, \%want,
	'the song without bass is excluded, the songs Alias_GM played are the test')
  or diag explain \%got;
like($stdout, qr/test \(played by Alias_GM\).*in the mix or bass/, '... and the summary says so');

($stdout, $stderr) = ('', '');
$ok = run_log([ $synth, 'render', '--midi', "$in/broken.wad", '--out', "$work/out3" ],
	'>', \$stdout, '2>', \$stderr);
ok(!$ok && $stderr =~ /no MIDI songs in the --midi inputs/,
	'nothing to render is an error');

done_testing();
