#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0
# Send one QMP command to a QEMU monitor socket and print the answer.
# Usage: tests/vm/qmp.pl SOCKET JSON
#   e.g. qmp.pl /tmp/q.sock '{"execute":"device_del","arguments":{"id":"x"}}'
# Exit: 0 when QEMU answered "return", 1 on "error" (printed), 2 when the
# socket could not be used.  Perl core modules only (CI installs no more).
use strict;
use warnings;
use IO::Socket::UNIX;

my ($path, $cmd) = @ARGV;
die "usage: $0 SOCKET JSON\n" unless defined $cmd;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path)
	or do { print STDERR "qmp: cannot connect to $path: $!\n"; exit 2 };

# one JSON object per line; skip asynchronous events
sub answer {
	while (my $l = <$s>) {
		next if $l =~ /"event"/;
		return $l;
	}
	print STDERR "qmp: connection closed\n";
	exit 2;
}

answer();			# the greeting
print $s qq({"execute":"qmp_capabilities"}\n);
answer();
print $s "$cmd\n";
my $a = answer();
print $a;
exit($a =~ /"return"/ ? 0 : 1);
