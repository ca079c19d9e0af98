# Drives headless Chromium through the DevTools protocol over a pipe
# (--remote-debugging-pipe: JSON messages ending in NUL on file descriptors
# 3 and 4), so a test needs no WebSocket client: open a page, evaluate
# JavaScript, press keys as a user would.
package CdpPipe;
use strict;
use warnings;
use IO::Select;
use List::Util ();
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);

sub start
{
	my ($class, %o) = @_;
	pipe(my $cmd_r, my $cmd_w) or die "pipe: $!";
	pipe(my $evt_r, my $evt_w) or die "pipe: $!";
	my $pid = fork // die "fork: $!";
	if ($pid == 0)
	{
		# Through two descriptors above both ends and above 4, so that no step
		# overwrites an end still to be moved: with fixed ones (20 and 21),
		# whenever the test had one descriptor fewer open the write end was
		# 20, the browser got the read end of its command pipe as its event
		# pipe, and the first call saw the pipe close while Chromium ran on
		# (what failed CI three times).
		my $hi = List::Util::max(fileno($cmd_r), fileno($evt_w), 4) + 1;
		POSIX::dup2(fileno($cmd_r), $hi) // POSIX::_exit(127);
		POSIX::dup2(fileno($evt_w), $hi + 1) // POSIX::_exit(127);
		POSIX::dup2($hi, 3) // POSIX::_exit(127);
		POSIX::dup2($hi + 1, 4) // POSIX::_exit(127);
		# a run without standard input may have given a pipe end descriptor
		# 0; dup2, not open(STDIN): Perl's STDIN handle may be closed already
		my $null = POSIX::open('/dev/null', POSIX::O_RDONLY()) // POSIX::_exit(127);
		POSIX::dup2($null, 0) // POSIX::_exit(127);
		POSIX::close($null) if $null != 0;
		# nothing else of the test's, $hi and $hi + 1 included: an inherited
		# pipe end (the harness's own, say) would keep that pipe open for as
		# long as the browser runs
		opendir(my $fds, '/proc/self/fd') or POSIX::_exit(127);
		my @inherited = grep { /^\d+$/ && $_ > 4 } readdir $fds;
		closedir $fds;
		POSIX::close($_) for @inherited;
		open(STDOUT, '>>', $o{log}) or POSIX::_exit(127);
		open(STDERR, '>&', \*STDOUT) or POSIX::_exit(127);
		$ENV{HOME} = $o{dir};
		# --no-sandbox: the test may run as root, and containers often lack
		# the namespaces the sandbox needs; the page is our own, on loopback.
		# --disable-dev-shm-usage: containers give /dev/shm 64 MB, which
		# Chromium can fill and then crash
		# through sh, to raise the soft address-space limit to the hard one:
		# Chromium reserves about 100 GB of address space at start (one
		# mmap of 32 GB for PartitionAlloc's pools alone) and dies by SIGTRAP,
		# without a word in its log, under a lower `ulimit -v`
		exec('/bin/sh', '-c', 'ulimit -S -v "$(ulimit -H -v)"; exec "$@"', 'sh', $o{chromium}, '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
			'--remote-debugging-pipe', "--user-data-dir=$o{dir}/profile",
			'--no-first-run', '--autoplay-policy=no-user-gesture-required',
			'--window-size=1100,900', 'about:blank')
		  or POSIX::_exit(127);
	}
	close $cmd_r;
	close $evt_w;
	$cmd_w->autoflush(1);
	my $self = bless { pid => $pid, w => $cmd_w, r => $evt_r, buf => '', id => 0 }, $class;
	# a first start on a fresh machine builds its font cache and profile: slow
	my $target = eval { $self->call('Target.createTarget', { url => 'about:blank' }, 1, 120) };
	if (!$target)
	{
		chomp(my $why = $@);
		die "$why; " . $self->exit_status . "\n";
	}
	my $att = $self->call('Target.attachToTarget',
		{ targetId => $target->{targetId}, flatten => JSON::PP::true });
	$self->{session} = $att->{sessionId};
	return $self;
}

# Sends a command (to the page's session unless $browser) and returns its
# result; dies after $timeout s (30 unless given).
sub call
{
	my ($self, $method, $params, $browser, $timeout) = @_;
	my $id = ++$self->{id};
	my %msg = (id => $id, method => $method, params => $params // {});
	$msg{sessionId} = $self->{session} if $self->{session} && !$browser;
	# a browser that has gone must fail the call, not kill the test by SIGPIPE
	local $SIG{PIPE} = 'IGNORE';
	print { $self->{w} } encode_json(\%msg) . "\0"
	  or die "chromium closed the pipe before $method: $!\n";
	my $deadline = time + ($timeout // 30);
	my $sel = IO::Select->new($self->{r});
	while (time < $deadline)
	{
		while ($self->{buf} =~ s/^([^\0]*)\0//)
		{
			my $m = decode_json($1);
			next unless defined $m->{id} && $m->{id} == $id;
			die "$method: $m->{error}{message}\n" if $m->{error};
			return $m->{result};
		}
		next unless $sel->can_read(1);
		my $n = sysread($self->{r}, $self->{buf}, 65536, length $self->{buf});
		die "chromium closed the pipe during $method\n" unless $n;
	}
	die "no answer to $method in " . ($timeout // 30) . " s\n";
}

# How the browser ended, for a start that failed: its log may say nothing.
sub exit_status
{
	my ($self) = @_;
	for (1 .. 50)
	{
		if (waitpid($self->{pid}, POSIX::WNOHANG()) == $self->{pid})
		{
			my $st = $?;
			$self->{pid} = 0;
			return POSIX::WIFSIGNALED($st)
			  ? 'chromium was killed by signal ' . POSIX::WTERMSIG($st)
			  : 'chromium exited with status ' . POSIX::WEXITSTATUS($st);
		}
		sleep 0.1;
	}
	return 'chromium is still running';
}

# The hard limit of a process's address space in kB (`ulimit -H -v`), undef
# if unlimited.  Chromium cannot start below about 100 GB.
sub address_space_limit
{
	chomp(my $v = qx(sh -c 'ulimit -H -v'));
	return $v =~ /^\d+$/ ? $v : undef;
}

# The last lines of Chromium's log (start's `log`), for a test that failed
# to say why.
sub log_tail
{
	my ($path) = @_;
	open(my $fh, '<', $path) or return "(no $path)";
	my @lines = <$fh>;
	return join('', @lines[ ($#lines > 30 ? $#lines - 30 : 0) .. $#lines ]);
}

# The value of a JavaScript expression (promises awaited).
sub eval
{
	my ($self, $js) = @_;
	my $r = $self->call('Runtime.evaluate',
		{ expression => $js, returnByValue => JSON::PP::true, awaitPromise => JSON::PP::true });
	die "JavaScript error: $r->{exceptionDetails}{exception}{description}\n"
	  if $r->{exceptionDetails};
	return $r->{result}{value};
}

# Waits until the expression is true; its value, or undef after $timeout s.
# An expression that throws counts as not true yet: while a page loads,
# document.body or the element asked for may not exist (CI once saw
# "Cannot read properties of null" here); the last error is printed if the
# wait runs out.
sub wait_for
{
	my ($self, $js, $timeout) = @_;
	my $deadline = time + ($timeout // 20);
	my $error;
	while (time < $deadline)
	{
		my $v = eval { $self->eval($js) };
		if ($@)
		{
			die $@ if $@ !~ /^JavaScript error:/;
			$error = $@;
		}
		return $v if $v;
		sleep 0.1;
	}
	print STDERR "# wait_for($js): last $error" if defined $error;
	return undef;
}

sub navigate
{
	my ($self, $url) = @_;
	$self->call('Page.navigate', { url => $url });
}

my %codes = (Enter => 13, ArrowDown => 40, ArrowUp => 38, ' ' => 32);

# A key press as the keyboard makes it (keydown with its text, keyup).
sub key
{
	my ($self, $key) = @_;
	my $code = $codes{$key} // ord(uc $key);
	my $text = $key eq 'Enter' ? "\r" : length($key) == 1 ? $key : undef;
	$self->call('Input.dispatchKeyEvent', {
		type => defined $text ? 'keyDown' : 'rawKeyDown', key => $key,
		windowsVirtualKeyCode => $code, defined $text ? (text => $text) : () });
	$self->call('Input.dispatchKeyEvent', { type => 'keyUp', key => $key, windowsVirtualKeyCode => $code });
}

sub type_text
{
	my ($self, $text) = @_;
	$self->call('Input.insertText', { text => $text });
}

sub stop
{
	my ($self) = @_;
	return unless $self->{pid};
	eval { $self->call('Browser.close', {}, 1) };
	close $self->{w};
	for (1 .. 50)
	{
		last if waitpid($self->{pid}, POSIX::WNOHANG()) != 0;
		sleep 0.1;
	}
	kill 'KILL', $self->{pid} if kill 0, $self->{pid};
	waitpid($self->{pid}, 0);
	$self->{pid} = 0;
}

sub DESTROY { $_[0]->stop }

1;
