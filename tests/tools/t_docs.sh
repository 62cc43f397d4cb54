#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The documentation against the sources, TAP, on the host:
# - every module_param* of src/ is a row of docs/parameters.md's table, and
#   every row there is one of them;
# - every sysfs and debugfs file and directory the module creates (src/sysfs.c,
#   src/debugfs.c, the counters of PVB_DEV_STATS()) is named in docs/files.md;
# - every trace event (TRACE_EVENT in include/pvbounce/trace.h) is in
#   docs/tracepoints.md;
# - every message format of src/ (pr_err/warn/notice/info and their
#   _ratelimited/_once forms, pvb_dev_err/warn/info, dev_*, and the texts
#   given to pvb_dev_end_now/_later) is in docs/messages.md: its fixed leading
#   words, at least four (or all it has), with each printf conversion matching
#   any <placeholder> or word there, at the start of a backquoted text (after
#   "<pci>: " for a device's line);
# - README.md stays a README (at most 250 lines) and user docs (README.md,
#   docs/, man/) carry no "issue N" and no commit hash (7 to 40 hex digits
#   with a letter and a digit);
# - every relative link of README.md, HACKING.md and docs/*.md leads to a file
#   that exists, and its #anchor, if any, to a heading of that file (GitHub's
#   anchors: lower case, punctuation dropped, spaces as hyphens).
# PVB_DOCS_TOP=dir checks another tree (the mutants of the test itself).
set -u
top=${PVB_DOCS_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
# none DESC LIST: ok when LIST (one item a line) is empty, else each as a diagnostic
none() {
	if [ -z "$2" ]; then ok "$1"; else
		not_ok "$1"; printf '%s\n' "$2" | sed 's/^/#   /'; fi
}
# atleast DESC N MIN: the extraction found something (a broken extractor
# must not pass by finding nothing)
atleast() {
	if [ "$2" -ge "$3" ]; then ok "$1 ($2)"; else not_ok "$1: $2, expected at least $3"; fi
}
docs=$top/docs
for f in parameters files messages tracepoints; do
	[ -f "$docs/$f.md" ] || not_ok "docs/$f.md exists"
done

# -- parameters
in_src=$(sed -n 's/^[[:space:]]*module_param\(_cb\|_named\|_array\)\{0,1\}(\([a-z0-9_]*\),.*/\2/p' \
	"$top"/src/*.c | sort -u)
# shellcheck disable=SC2016 # the backquotes are markdown
in_doc=$(sed -n 's/^| `\([a-z0-9_]*\)` |.*/\1/p' "$docs/parameters.md" 2>/dev/null | sort -u)
atleast "module_param* in src/" "$(echo "$in_src" | wc -w)" 9
none "every module parameter is a row of docs/parameters.md" \
	"$(comm -23 <(echo "$in_src") <(echo "$in_doc"))"
none "docs/parameters.md has no row for a parameter src/ lacks" \
	"$(comm -13 <(echo "$in_src") <(echo "$in_doc"))"

# -- files: names given to debugfs_create_*(), kobject_create_and_add(),
# __ATTR_RO()/__ATTR(), and the counters (PVB_DEV_STATS, X(name))
files=$( {
	sed -n 's/.*debugfs_create_[a-z0-9]*("\([^"]*\)".*/\1/p' "$top/src/debugfs.c"
	sed -n 's/.*__ATTR_RO(\([a-z0-9_]*\)).*/\1/p; s/.*__ATTR(\([a-z0-9_]*\),.*/\1/p' "$top/src/sysfs.c"
	sed -n '/^#define PVB_DEV_STATS(X)/,/^$/s/^[[:space:]]*X(\([a-z0-9_]*\)).*/\1/p' \
		"$top/include/pvbounce/stats.h"
	} | grep -vx -e pvbounce -e field | sort -u)
dirs=$(sed -n 's/.*debugfs_create_dir("\([^"]*\)".*/\1/p' "$top/src/debugfs.c" | grep -vx pvbounce)
atleast "sysfs and debugfs names in src/" "$(echo "$files" | wc -w)" 25
missing=
for f in $files; do
	if echo "$dirs" | grep -qx "$f"; then
		grep -q "\`$f/\`" "$docs/files.md" || missing="$missing$f/
"
	else
		# `name`, `<pci>/name`, or a name in a backquoted list of the table
		grep -Eq "\`(<pci>/)?$f\`" "$docs/files.md" || missing="$missing$f
"
	fi
done
none "every sysfs and debugfs file and directory is in docs/files.md" "$(printf '%b' "$missing")"

# -- trace events
events=$(sed -n 's/^TRACE_EVENT(\([a-z0-9_]*\),.*/\1/p' "$top/include/pvbounce/trace.h")
atleast "trace events in include/pvbounce/trace.h" "$(echo "$events" | wc -w)" 3
missing=
for e in $events; do
	grep -q "^| \`$e\` |" "$docs/tracepoints.md" || missing="$missing$e
"
done
none "every trace event is a row of docs/tracepoints.md" "$(printf '%b' "$missing")"

# -- messages
# One line per message format: FILE:LINE<TAB>FORMAT (adjacent string literals
# joined, the trailing \n dropped).  Formats without a fixed word ("%s": the
# text comes from a pvb_dev_end_*() argument, extracted as a format of its
# own) are left out.
formats=$(perl -e '
	for my $f (@ARGV) {
		open my $fh, "<", $f or die "$f: $!"; local $/; my $s = <$fh>; close $fh;
		my $call = qr/\b(pr_(?:err|warn|notice|info)(?:_ratelimited|_once)?|pvb_dev_(?:err|warn|info)(?:_ratelimited)?|dev_(?:err|warn|notice|info)(?:_ratelimited|_once)?|pvb_dev_end_(?:now|later))\s*\(/;
		while ($s =~ /$call/g) {
			my ($fn, $pos) = ($1, pos($s));
			my $line = 1 + (() = substr($s, 0, $pos) =~ /\n/g);
			my $rest = substr($s, $pos, 3000);
			# the first argument of the per-device forms is the device
			if ($fn !~ /^pr_/) { $rest =~ s/^[^,]*,\s*// or next; }
			my @texts;
			if ($fn =~ /^pvb_dev_end_/) {
				# the text, or each text of a ?: between two
				$rest =~ s/^[^"]*?\?\s*// if $rest =~ /^[^",]*\?/;
				while ($rest =~ s/^\s*"((?:[^"\\]|\\.)*)"\s*(?::\s*)?//) { push @texts, $1; }
			} else {
				my $fmt = "";
				while ($rest =~ s/^\s*"((?:[^"\\]|\\.)*)"\s*//) { $fmt .= $1; }
				push @texts, $fmt;
			}
			for my $t (@texts) {
				$t =~ s/\\n$//;
				next unless $t =~ /[A-Za-z]{2}/;
				print "$f:$line\t$t\n";
			}
		}
	}' "$top"/src/*.c)
atleast "message formats in src/" "$(echo "$formats" | grep -c .)" 90
# the backquoted texts of docs/messages.md, one a line
# shellcheck disable=SC2016 # the backquotes are markdown
doc_texts=$(grep -o '`[^`]*`' "$docs/messages.md" 2>/dev/null | sed 's/^`//; s/`$//')
missing=$(printf '%s\n' "$formats" | DOCS="$doc_texts" perl -ne '
	BEGIN { @docs = split /\n/, $ENV{DOCS}; }
	chomp; my ($where, $fmt) = split /\t/, $_, 2;
	$fmt =~ s/\\"/"/g; $fmt =~ s/%%/\001/g;
	# printf conversions (kernel %p extensions included) become one marker
	$fmt =~ s/%[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|z|t|j)?(?:p[a-zA-Z]+|[diouxXcsp])/\002/g;
	$fmt =~ s/\001/%/g;
	# the leading words: up to the 4th fixed word, or all of them
	my ($lead, $words) = ("", 0);
	for my $tok (split /(\002|\s+)/, $fmt) {
		$lead .= $tok;
		$words++ if $tok =~ /[A-Za-z0-9]/ && $tok ne "\002";
		last if $words >= 4;
	}
	# as a regex: literal text, a conversion as a <placeholder> or a word
	my $re = join "", map { $_ eq "\002" ? q{(?:<[^>]*>|[^\s<>]+)*} : quotemeta } split /(\002)/, $lead;
	print "$where: $lead\n" unless grep { /^(?:<pci>: )?$re/ } @docs;' | tr '\002' '%')
none "every message's leading words are in docs/messages.md" "$missing"

# -- README.md stays a README
lines=$(wc -l <"$top/README.md")
if [ "$lines" -le 250 ]; then ok "README.md has $lines lines (at most 250)"; else
	not_ok "README.md has $lines lines, more than 250: move the reference to docs/"; fi
userdocs="$top/README.md $docs/*.md $top/man/*"
# shellcheck disable=SC2086
none "user docs name no issue" "$(grep -Hin 'issue [0-9#]\|issue #[0-9]' $userdocs)"
# shellcheck disable=SC2086
none "user docs carry no commit hash (7 to 40 hex digits with a letter and a digit)" \
	"$(grep -HonwE '[0-9a-f]{7,40}' $userdocs | grep '[0-9][^:]*$' | grep -E ':[^:]*[a-f][^:]*$' |
		grep -vE ':0x[0-9a-f]+$')"

# -- relative links and their anchors
bad=$(cd "$top" && perl -e '
	sub slug { my $h = lc shift; $h =~ s/[^\w\- ]//g; $h =~ s/ /-/g; return $h; }
	my %anchors;
	sub anchors {
		my $f = shift;
		return $anchors{$f} if $anchors{$f};
		my %a; open my $fh, "<", $f or return {}; my $code = 0;
		while (<$fh>) {
			$code = !$code if /^```/;
			next if $code;
			if (/^#+\s+(.*?)\s*$/) { my $s = slug($1); my $i = 0; my $k = $s;
				while ($a{$k}) { $k = $s . "-" . ++$i; } $a{$k} = 1; }
		}
		return $anchors{$f} = \%a;
	}
	for my $f (@ARGV) {
		open my $fh, "<", $f or next; my $code = 0;
		(my $dir = $f) =~ s{[^/]*$}{};
		while (<$fh>) {
			$code = !$code if /^```/;
			next if $code;
			while (/\]\(([^)\s]+)\)/g) {
				my $l = $1;
				next if $l =~ m{^[a-z]+:};
				my ($path, $frag) = split /#/, $l, 2;
				my $t = $path eq "" ? $f : $dir . $path;
				1 while $t =~ s{[^/]+/\.\./}{};
				if (!-e $t) { print "$f:$.: $l: no file $t\n"; next; }
				next unless defined $frag && $t =~ /\.md$/;
				print "$f:$.: $l: no heading #$frag in $t\n" unless anchors($t)->{$frag};
			}
		}
	}' README.md HACKING.md docs/*.md)
links=$(cd "$top" && cat README.md HACKING.md docs/*.md | grep -o '](' | wc -l)
atleast "links in README.md, HACKING.md and docs/" "$links" 20
none "every relative link leads to a file and heading that exist" "$bad"

echo "1..$n"
[ "$failed" -eq 0 ]
