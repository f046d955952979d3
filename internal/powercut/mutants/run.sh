#!/usr/bin/env bash
# internal/powercut/mutants/run.sh: the power-cut campaign's proof that it can fail. For each
# fsync, fdatasync and directory sync the stable store performs (the list below), it removes that
# one sync in a copy of the tree, runs the short power-cut tests (cmd/run's campaign,
# TestPowerCutGo and TestPowerCutPython, and stable's TestPowerCutSteps, as make test runs them)
# against the mutant, and reports whether the campaign failed ("killed",
# as it must) or passed ("SURVIVED"). It exits non-zero if any mutant survived.
#
#   internal/powercut/mutants/run.sh [NAME...]     all mutants, or those named
#
# POWERCUT_ITERS and POWERCUT_SEED pass through to the campaign (see cmd/run/powercut_test.go).
# Needs root and /dev/fuse, as the campaign does. Run it with make powercut-mutants.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"

# name|file|exact text|replacement[|why it cannot fail] (one line each; the text must occur exactly
# once). A mutant with a reason is one no power cut can reach: it is run and reported, and its
# survival is expected; any other survivor fails the script.
mutants=(
	'wal-fdatasync|stable/internal/kv/boltkv/wal.go|if err := unix.Fdatasync(int(s.log.Fd())); err != nil {|if err := error(nil); err != nil {'
	'wal-dirsync|stable/internal/kv/boltkv/wal.go|		kv.SyncDir(filepath.Dir(s.path))|		_ = filepath.Dir(s.path)'
	'wal-repair-fdatasync|stable/internal/kv/boltkv/wal.go|		err = unix.Fdatasync(int(s.log.Fd()))|		err = nil|unreachable by a power cut: it runs only after a record write or fdatasync failed and the process went on (boltkv TestFailedRecordNotReplayed checks the header zeroing, with syncs off)'
	'bolt-fdatasync|stable/internal/kv/boltkv/bolt.go|		NoSync:          opts.NoSync,|		NoSync:          true,'
	'create-dirsync|stable/stable.go|	kv.SyncDir(dir)|	_ = dir'
	'backup-filesync|stable/backup.go|		if err := syncFile(name); err != nil {|		if err := error(nil); err != nil {'
	'backup-dirsync|stable/backup.go|		kv.SyncDir(filepath.Dir(dst))|		_ = dst'
	'compact-dirsync|stable/compact.go|		kv.SyncDir(filepath.Dir(path))|		_ = path'
)

want=("$@")
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
survived=0
printf '%-22s %-8s %s\n' MUTANT RESULT DETAIL
for m in "${mutants[@]}"; do
	IFS='|' read -r name file text repl why <<<"$m"
	if ((${#want[@]})) && [[ " ${want[*]} " != *" $name "* ]]; then
		continue
	fi
	tree="$work/$name"
	mkdir -p "$tree"
	git ls-files -z | xargs -0 cp --parents -t "$tree"
	cp testdata/python/python.wasm "$tree/testdata/python/" 2>/dev/null || true
	n="$(grep -cF -- "$text" "$tree/$file" || true)"
	if [[ "$n" != 1 ]]; then
		echo "mutants: $name: the text occurs $n times in $file (want once): $text" >&2
		exit 2
	fi
	TEXT="$text" REPL="$repl" perl -0pi -e 's/\Q$ENV{TEXT}\E/$ENV{REPL}/' "$tree/$file"
	log="$work/$name.log"
	if (cd "$tree" && go test -count=1 -run 'TestPowerCut' ./cmd/run ./stable >"$log" 2>&1); then
		if [[ -n "$why" ]]; then
			printf '%-22s %-8s %s\n' "$name" survived "(expected) $why"
		else
			survived=$((survived + 1))
			printf '%-22s %-8s %s\n' "$name" SURVIVED "the power-cut tests passed without it"
		fi
	else
		detail="$(grep -v -e '--- FAIL' -e '^FAIL' "$log" | grep -m1 -E 'acknowledged|never written|is missing|is gone|damaged|does not open|fsck|holds|reported|half file|integrity|lacks|panic' | sed 's/^ *//' | cut -c1-160 || true)"
		detail="$detail [$(grep -oE -- '--- FAIL: [A-Za-z]+' "$log" | sort -u | sed 's/--- FAIL: //' | tr '\n' ' ')]"
		printf '%-22s %-8s %s\n' "$name" killed "$detail"
	fi
	rm -rf "$tree"
done
echo "mutants: $survived survived unexpectedly"
((survived == 0))
