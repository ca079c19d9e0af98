# instsim-web on a small catalogue of real audio: plain HTTP for the
# statuses (audio ranges, bad requests that must change nothing), then
# headless Chromium driven as a user would (DevTools protocol over a pipe):
# search, open a track with the keyboard, compare every instrument's
# neighbour list, the explain table and the matching moment with SQL, and
# rate three pairs of the listening test with keys 1-5; the ratings must be
# in the table, and a reload resumes at the first unrated pair.  Finally
# instsim-eval --listening reports on them.  The browser part is skipped
# with a message when /usr/bin/chromium is absent, or cannot start under the
# machine's address-space limit.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use HTTP::Tiny;
use IO::Socket::INET;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $root = $ENV{INSTSIM_ROOT} // '';
my $bin = $ENV{INSTSIM_BIN} // "$root/build";
my $fixtures = $ENV{INSTSIM_FIXTURES} or plan skip_all => 'INSTSIM_FIXTURES is not set';
my $chromium = $ENV{INSTSIM_CHROMIUM} || '/usr/bin/chromium';
plan skip_all => "$bin/instsim-web is not built (make tools)" unless -x "$bin/instsim-web";

my $node = PostgreSQL::Test::Cluster->new('web');
$node->init;
$node->start;
# five tracks of different audio; titles with SQL and LIKE metacharacters
my @files = ('chord.flac', 'beat48k.wav', 'bass.ogg', 'chord.aiff', 'beat8k.wav');
my @titles = ("Rock 'n' Roll", '100% Bass', 'Under_score', 'Chord; DROP TABLE tracks', 'Beat');
my $values = join ', ', map {
	my $i = $_ + 1;
	my $t = $titles[$_] =~ s/'/''/gr;
	"($i, '$t', 'artist " . ($i % 2) . "', pg_read_binary_file('$fixtures/$files[$_]'))"
} 0 .. $#files;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION instsim;
	CREATE TABLE tracks (id int PRIMARY KEY, title text, artist text, mix_audio bytea,
		mix embedding(128), drums embedding(128));
	ALTER TABLE tracks ALTER mix_audio SET STORAGE EXTERNAL;
	INSERT INTO tracks (id, title, artist, mix_audio) VALUES $values;
	UPDATE tracks SET mix = instsim_embed(mix_audio, 'mix'), drums = instsim_embed(mix_audio, 'drums');
	CREATE INDEX ON tracks USING instsim_hnsw (mix embedding_cosine_ops);
	SELECT setseed(0.25);
	SELECT instsim_listening_draw('tracks', ARRAY['mix', 'drums'], pairs => 4, strata => 2);
	CREATE ROLE web_rater LOGIN;
	GRANT SELECT ON tracks TO web_rater;
	GRANT INSERT ON instsim.listening_rating TO web_rater;
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM instsim.listening_pair'), '8', 'eight pairs drawn');
my $snapshot = q{SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM tracks t};
my $before = $node->safe_psql('postgres', $snapshot);

# Starts instsim-web (port 0: any free one) and returns its base URL.
my @servers;
sub start_web
{
	my (@args) = @_;
	my ($in, $out, $err) = ('', '', '');
	my $h = IPC::Run::start([ "$bin/instsim-web", '--db', $node->connstr('postgres') . ' user=web_rater',
		'--port', '0', '--threads', '2', @args ], \$in, \$out, \$err);
	my $t = IPC::Run::timer(30);
	$h->pump until $out =~ m{http://127\.0\.0\.1:(\d+)/} || $t->is_expired || !$h->pumpable;
	die "instsim-web did not start: $err" unless $out =~ m{http://127\.0\.0\.1:(\d+)/};
	push @servers, $h;
	return "http://127.0.0.1:$1";
}
my $base = start_web('--ratings');
my $ro = start_web();
my $http = HTTP::Tiny->new(timeout => 30);
sub get { my ($url, %h) = @_; return $http->get($url, { headers => \%h }); }
sub post { my ($url, $body) = @_; return $http->post($url, { content => $body, headers => { 'Content-Type' => 'application/json' } }); }

# ---- plain HTTP ----------------------------------------------------------
my $r = get("$base/");
is($r->{status}, 200, 'the page is served');
like($r->{content}, qr/<script src="\/app.js"/, '... with its script');
my $info = decode_json(get("$base/api/info")->{content});
is_deeply([ map { $_->{name} } @{ $info->{instruments} } ], [ 'mix', 'drums' ], 'every embedding column is an instrument');

my $flac = do { local $/; open my $fh, '<:raw', "$fixtures/chord.flac" or die $!; <$fh> };
$r = get("$base/api/audio?key=1&src=mix_audio", Range => 'bytes=100-4195');
is($r->{status}, 206, 'an audio range: 206');
is($r->{headers}{'content-range'}, sprintf('bytes 100-4195/%d', length $flac), '... with its Content-Range');
is($r->{headers}{'content-type'}, 'audio/flac', '... and the sniffed type');
ok($r->{content} eq substr($flac, 100, 4096), '... and exactly those bytes');
$r = get("$base/api/audio?key=1&src=mix_audio", Range => 'bytes=-50');
ok($r->{status} == 206 && $r->{content} eq substr($flac, -50), 'a suffix range');
$r = get("$base/api/audio?key=1");
ok($r->{status} == 200 && $r->{content} eq $flac, 'no range: the whole file');
$r = get("$base/api/audio?key=2", Range => 'bytes=0-11');
is($r->{headers}{'content-type'}, 'audio/wav', 'WAV is sniffed as such');
$r = get("$base/api/audio?key=1", Range => 'bytes=' . length($flac) . '-');
is($r->{status}, 416, 'a range past the end: 416');
is($r->{headers}{'content-range'}, 'bytes */' . length($flac), '... naming the length');
is(get("$base/api/audio?key=1", Range => 'bytes=9-3')->{status}, 400, 'a backwards range: 400');
is(get("$base/api/audio?key=1", Range => 'bytes=x-')->{status}, 400, 'a malformed range: 400');
is(get("$base/api/audio?key=1&src=title")->{status}, 404, 'a column that is no audio column: 404');
is(get("$base/api/audio?key=99")->{status}, 404, 'audio of an unknown track: 404');

is(get("$base/api/track?key=99")->{status}, 404, 'unknown track: 404');
is(get("$base/api/track?key=abc")->{status}, 400, 'a key that is no integer: 400');
is(get("$base/api/track?key=1%3B%20DELETE%20FROM%20tracks")->{status}, 400, 'SQL in a key: 400');
is(get("$base/api/neighbours?key=99&instrument=mix")->{status}, 404, 'neighbours of an unknown track: 404');
is(get("$base/api/neighbours?key=1&instrument=title")->{status}, 404, 'an unknown instrument: 404');
is(get("$base/api/explain?a=1&b=99")->{status}, 404, 'explain with an unknown track: 404');
is(get("$base/api/search?q=" . ('x' x 300))->{status}, 400, 'an overlong search: 400');
is(get("$base/nothing")->{status}, 404, 'an unknown page: 404');
# (HTTP::Tiny sets Host itself, so this one goes over a plain socket)
my ($port) = $base =~ /:(\d+)$/;
my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) or die "connect: $!";
print $sock "GET /api/info HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n";
like(scalar <$sock>, qr{^HTTP/1\.1 421 }, 'a Host other than the loopback address (DNS rebinding): 421');
close $sock;
is($http->request('DELETE', "$base/api/track?key=1")->{status}, 405, 'DELETE: 405');

# search strings are matched literally: quotes, semicolons, % and _ included
sub search { return [ map { $_->{key} } @{ decode_json(get("$base/api/search?q=$_[0]")->{content}) } ] }
is_deeply(search("%27%3B%20DROP%20TABLE%20tracks%3B%20--"), [], 'SQL in the search box matches nothing');
is_deeply(search("Rock%20%27n%27"), ['1'], 'a quote is searched for literally');
is_deeply(search("%25"), ['2'], '% is no wildcard');
is_deeply(search("_"), ['3'], '_ is no wildcard');
is_deeply(search("DROP%20TABLE"), ['4'], 'a title with SQL in it is found');

my $ratings = q{SELECT count(*) FROM instsim.listening_rating};
is(post("$base/api/listen/rate", '{"pair": 1, "rater": "x", "rating": 3}' . (' ' x 2000))->{status}, 413,
	'an oversize body: 413');
is(post("$base/api/listen/rate", '{"pair": 1, "rater": "x", "rating": 9}')->{status}, 400, 'rating 9: 400');
is(post("$base/api/listen/rate", '{"pair": 1, "rater": "x"')->{status}, 400, 'broken JSON: 400');
is(post("$base/api/listen/rate", '{"pair": 999, "rater": "x", "rating": 3}')->{status}, 404, 'unknown pair: 404');
is(post("$base/api/listen/rate", '{"pair": 1, "rater": "", "rating": 3}')->{status}, 400, 'no rater: 400');
is(get("$base/api/listen/rate")->{status}, 405, 'GET of the rating endpoint: 405');
is(post("$ro/api/listen/rate", '{"pair": 1, "rater": "x", "rating": 3}')->{status}, 403,
	'without --ratings, ratings are refused: 403');
is($node->safe_psql('postgres', $ratings), '0', 'no bad request stored a rating');
is($node->safe_psql('postgres', $snapshot), $before, 'no request changed the catalogue');

# ---- the page in Chromium --------------------------------------------------
SKIP:
{
	skip "no $chromium: the browser test needs Debian's chromium (scripts/debian-packages.txt)", 13
	  unless -x $chromium;
	require CdpPipe;
	my $dir = PostgreSQL::Test::Utils::tempdir;
	# a browser that dies or hangs fails this part with its log, and the
	# report below still runs
	my $b = eval { CdpPipe->start(chromium => $chromium, dir => $dir, log => "$dir/chromium.log") };
	chomp(my $start_error = $@);
	my $limit = CdpPipe::address_space_limit();
	skip "Chromium cannot start here: processes may map at most $limit kB (ulimit -H -v) and it "
	  . "reserves about 100 GB of address space at start ($start_error)", 13
	  if !$b && defined $limit && $limit < 128 * 1024 * 1024;
	my $done = eval {
		die "$start_error\n" unless $b;
		$b->navigate("$base/");
		ok($b->wait_for(q{document.body.dataset.ready === '1' && document.activeElement.id === 'q'}),
			'the catalogue page loads with the search box focused');
		$b->type_text('beat');
		$b->key('Enter');
		ok($b->wait_for(q{document.querySelector('#results').dataset.loaded === 'beat'}), 'a search runs');
		is_deeply($b->eval(q{[...document.querySelectorAll('#results li')].map(li => li.dataset.key)}),
			['5'], '... and lists the matching track');
		$b->key('ArrowDown');
		$b->key('Enter');
		ok($b->wait_for(q{document.querySelectorAll('.panel[data-loaded]').length === 2}),
			'the track opens with the keyboard and both instruments load');
		my $lists = $b->eval(q{Object.fromEntries([...document.querySelectorAll('.panel')].map(p =>
			[p.dataset.instrument, [...p.querySelectorAll('li[data-key]')].map(li => [li.dataset.key, Number(li.dataset.distance)])]))});
		for my $inst ('mix', 'drums')
		{
			my @sql = map { [ split /\|/ ] } split /\n/, $node->safe_psql('postgres', qq{
				SELECT id, $inst <=> (SELECT $inst FROM tracks WHERE id = 5) FROM tracks
				WHERE id <> 5 ORDER BY $inst <=> (SELECT $inst FROM tracks WHERE id = 5), id LIMIT 10});
			my $page = $lists->{$inst};
			ok(@$page == @sql
				  && !grep({ $page->[$_][0] ne $sql[$_][0] || abs($page->[$_][1] - $sql[$_][1]) > 1e-9 } 0 .. $#sql),
				"the $inst neighbours on the page are the SQL answer")
			  or diag explain { page => $page, sql => \@sql };
		}
		my $first = $lists->{mix}[0][0];
		$b->eval(q{document.querySelector('.panel[data-instrument="mix"] li[data-key] button.explain').click()});
		ok($b->wait_for(q{document.querySelectorAll('table.explain tr[data-instrument]').length === 2}),
			'explain shows every instrument\'s distance');
		my $shown = $b->eval(q{Object.fromEntries([...document.querySelectorAll('table.explain tr[data-instrument]')].map(
			tr => [tr.dataset.instrument, Number(tr.dataset.distance)]))});
		my ($dm, $dd) = split /\|/, $node->safe_psql('postgres',
			"SELECT a.mix <=> b.mix, a.drums <=> b.drums FROM tracks a, tracks b WHERE a.id = 5 AND b.id = $first");
		ok(abs($shown->{mix} - $dm) < 1e-9 && abs($shown->{drums} - $dd) < 1e-9, '... equal to the SQL distances');
		$b->eval(q{document.querySelector('.panel[data-instrument="mix"] li[data-key] button.play').click()});
		my $moment = $b->wait_for(q{(m => m === undefined ? null : 'at ' + m)(
			document.querySelector('.panel[data-instrument="mix"] li[data-key]').dataset.moment)});
		my $sql_moment = $node->safe_psql('postgres', qq{
			SELECT b.start_s FROM instsim_segments((SELECT mix_audio FROM tracks WHERE id = 5), 'mix') a,
				instsim_segments((SELECT mix_audio FROM tracks WHERE id = $first), 'mix') b
			ORDER BY a.emb <=> b.emb, a.start_s, b.start_s LIMIT 1});
		is($moment, "at $sql_moment", 'the neighbour plays from the best-matching segment');

		# the listening test, by keyboard alone
		$b->navigate("$base/#listen");
		ok($b->wait_for(q{document.body.dataset.ready === '1' && document.activeElement.id === 'rater'}),
			'the listening test asks for the rater');
		$b->type_text('tester');
		$b->key('Enter');
		my @shown;
		for my $rating (4, 2, 5)
		{
			my $pair = $b->wait_for(q{document.querySelector('#listen').dataset.pair});
			push @shown, "$pair|$rating";
			$b->key("$rating");
			$b->wait_for(qq{document.querySelector('#listen').dataset.lastRated === '$pair:$rating'});
		}
		is($node->safe_psql('postgres', q{SELECT string_agg(pair || '|' || rating, ',' ORDER BY rated_at)
			FROM instsim.listening_rating WHERE rater = 'tester'}), join(',', @shown),
			'three ratings given with keys 4, 2, 5 are in the table');
		$b->navigate("$base/#listen");
		$b->wait_for(q{document.body.dataset.ready === '1'});
		$b->key('Enter');
		is($b->wait_for(q{document.querySelector('#listen').dataset.pair && document.querySelector('#listen').dataset.pos}),
			'3', 'after a reload the rater resumes at the first unrated pair');
		$b->key('p');
		ok($b->wait_for(q{document.querySelector('#listen').dataset.pos === '2' &&
			document.querySelector('.ratings button.chosen')?.dataset.rating === '5'}),
			'p goes back to the previous pair, showing its rating');
		$b->stop;
		1;
	};
	unless ($done)
	{
		chomp(my $why = $@);
		fail("the browser session ended early: $why");
		diag(CdpPipe::log_tail("$dir/chromium.log"));
	}
}

# ---- the report --------------------------------------------------------------
# two more raters, so that agreement has pairs rated by several
$node->safe_psql('postgres', q{
	INSERT INTO instsim.listening_rating (pair, rater, rating)
	SELECT id, r, CASE WHEN r = 'ann' THEN 6 - ntile(5) OVER w ELSE 5 - ntile(4) OVER w END
	FROM instsim.listening_pair, unnest(ARRAY['ann', 'bob']) r
	WINDOW w AS (PARTITION BY instrument, r ORDER BY distance)});
my ($ok, $out, $err) = (0, '', '');
$ok = IPC::Run::run([ "$bin/instsim-eval", '--listening', '--db', $node->connstr('postgres'),
	'--bootstrap', '500' ], '>', \$out, '2>', \$err);
ok($ok, 'instsim-eval --listening runs') or diag $err;
like($out, qr/^mix\s+4 pairs\s+\d+ ratings\s+[23] raters\s+Spearman\s+-?[01]\.\d+ \[-?[01]\.\d+, -?[01]\.\d+\]/m,
	'... and reports the mix pairs with a bootstrap interval');
my ($rho) = $out =~ /^drums .*Spearman\s+(-?[\d.]+)/m;
my $view = $node->safe_psql('postgres',
	q{SELECT round(spearman::numeric, 3) FROM instsim.listening_summary WHERE instrument = 'drums'});
is(sprintf('%.3f', $rho), $view, '... whose Spearman is the view\'s');

IPC::Run::kill_kill($_) for @servers;
$node->stop;
done_testing();
