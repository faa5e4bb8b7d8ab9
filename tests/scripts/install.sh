#!/usr/bin/env bash
# `cmake --install` into a temporary prefix: every file lands where an operator looks for it, the
# installed aiked accepts the installed example configuration, systemd-analyze accepts the unit,
# a second install keeps an edited aiked.toml, and the man pages render.
set -u
BUILD=$(cd "$1" && pwd)
PREFIX=$(mktemp -d /tmp/aike-install.XXXXXX)
trap 'rm -rf "$PREFIX"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$BUILD" --prefix "$PREFIX" >"$PREFIX.log" 2>&1 || { cat "$PREFIX.log" >&2; fail "cmake --install failed"; }
rm -f "$PREFIX.log"
for f in sbin/aiked bin/aikectl etc/aike/aiked.toml lib/systemd/system/aiked.service share/man/man8/aiked.8 \
  share/man/man8/aikectl.8 share/bash-completion/completions/aikectl share/doc/aike/configuration.md \
  share/doc/aike/cli.md share/doc/aike/aiked.toml.example lib/aike/updown; do
  [ -e "$PREFIX/$f" ] || fail "$f was not installed"
done
[ -x "$PREFIX/sbin/aiked" ] && [ -x "$PREFIX/bin/aikectl" ] && [ -x "$PREFIX/lib/aike/updown" ] ||
  fail "binaries or the updown script are not executable"
out=$("$PREFIX/sbin/aiked" --check-config -c "$PREFIX/etc/aike/aiked.toml" 2>&1) ||
  fail "the installed example configuration does not check: $out"
echo "ok: $out"

unit=$PREFIX/lib/systemd/system/aiked.service
grep -q "^ExecStart=$PREFIX/sbin/aiked -c $PREFIX/etc/aike/aiked.toml$" "$unit" || fail "ExecStart does not point into the prefix"
grep -q "^Type=notify$" "$unit" || fail "the unit is not Type=notify"
if command -v systemd-analyze >/dev/null; then
  out=$(systemd-analyze verify --man=no "$unit" 2>&1) || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify complains: $out"
  echo "ok: systemd-analyze verify accepts the unit"
else
  echo "note: systemd-analyze not found; unit not verified"
fi

# An operator's edits survive a reinstall.
echo "# edited by the operator" >>"$PREFIX/etc/aike/aiked.toml"
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null 2>&1 || fail "second install failed"
grep -q "edited by the operator" "$PREFIX/etc/aike/aiked.toml" || fail "reinstall overwrote aiked.toml"
echo "ok: reinstall keeps an existing aiked.toml"

if command -v man >/dev/null; then
  for m in aiked aikectl; do
    out=$(MANWIDTH=80 man -l "$PREFIX/share/man/man8/$m.8" 2>&1 >/dev/null) || fail "man page $m.8 does not render"
    [ -z "$out" ] || fail "man $m.8 warns: $out"
  done
  echo "ok: man pages render"
fi
bash -n "$PREFIX/share/bash-completion/completions/aikectl" || fail "bash completion has a syntax error"
echo PASS
