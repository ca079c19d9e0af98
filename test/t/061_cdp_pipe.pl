# CdpPipe's descriptor plumbing, whatever descriptors the test has open: the
# browser must find its command pipe's read end on 3 and its event pipe's
# write end on 4.  Fixed intermediate descriptors (20 and 21) once handed
# Chromium the wrong ends whenever a test had one descriptor fewer open than
# here, and CI saw the pipe close with the browser still running.  A
# stand-in browser (Perl, answering on 4 what it reads on 3) makes this fast
# and independent of Chromium; each layout holds one more descriptor open, so
# the pipe ends move up from the lowest free, 0.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use File::Temp qw(tempdir);
use Test::More;
use POSIX ();
use CdpPipe;

my $dir = tempdir(CLEANUP => 1);
my $fake = "$dir/browser";
open(my $fh, '>', $fake) or die "$fake: $!";
print $fh <<'EOF';
#!/usr/bin/perl
# answers every DevTools command read from descriptor 3 on descriptor 4 with
# the descriptors it holds, until Browser.close or EOF
use strict;
use JSON::PP;
open(my $in, '<&=', 3) or die "no descriptor 3: $!";
open(my $out, '>&=', 4) or die "no descriptor 4: $!";
$out->autoflush(1);
opendir(my $d, '/proc/self/fd') or die "/proc/self/fd: $!";
my @fds = sort { $a <=> $b } grep { /^\d+$/ && $_ != fileno($d) } readdir $d;
closedir $d;
local $/ = "\0";
while (my $m = <$in>)
{
	chomp $m;
	my $msg = decode_json($m);
	print $out encode_json({ id => $msg->{id}, result => {
		targetId => 't', sessionId => 's', method => $msg->{method}, fds => "@fds" } }) . "\0";
	last if $msg->{method} eq 'Browser.close';
}
EOF
close $fh;
chmod 0755, $fake;

# descriptor 0 too may be free (a run without standard input)
POSIX::close(0);
my @held;
for my $layout (0 .. 24)
{
	my $b = eval { CdpPipe->start(chromium => $fake, dir => $dir, log => "$dir/log") };
	my $r = $b && eval { $b->call('Browser.getVersion', {}, 1, 5) };
	# exactly 0-4: another pipe end held by the browser would hide its end
	# of file from the test
	is($r ? "$r->{method}: $r->{fds}" : "no answer: $@", 'Browser.getVersion: 0 1 2 3 4',
		"commands and answers cross the pipes, and the browser holds nothing else, with $layout more descriptors open")
	  or diag(CdpPipe::log_tail("$dir/log"));
	$b->stop if $b;
	open(my $h, '<', '/dev/null') or die "/dev/null: $!";
	push @held, $h;
}
done_testing();
