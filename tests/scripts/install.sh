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

# The Debian package (cpack): files under /usr and /etc, aiked.toml a conffile, Depends filled in.
if command -v cpack >/dev/null && command -v dpkg-deb >/dev/null && command -v dpkg-shlibdeps >/dev/null; then
  PKG=$PREFIX/pkg
  mkdir -p "$PKG"
  (cd "$PKG" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$PKG" >"$PKG/cpack.log" 2>&1) ||
    { cat "$PKG/cpack.log" >&2; fail "cpack -G DEB failed"; }
  deb=$(ls "$PKG"/aike_*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] || fail "cpack made no .deb"
  files=$(dpkg-deb -c "$deb" | awk '{ print $6 }')
  for f in ./usr/sbin/aiked ./usr/bin/aikectl ./etc/aike/aiked.toml ./usr/lib/systemd/system/aiked.service \
    ./usr/share/man/man8/aiked.8 ./usr/lib/aike/updown; do
    grep -qx "$f" <<<"$files" || fail "the package lacks $f"
  done
  dpkg-deb -I "$deb" conffiles | grep -qx "/etc/aike/aiked.toml" || fail "aiked.toml is not a conffile"
  dpkg-deb -f "$deb" Depends | grep -q "libcaf-core" || fail "the package's Depends lacks CAF: $(dpkg-deb -f "$deb" Depends)"
  mkdir -p "$PKG/x" && dpkg-deb -x "$deb" "$PKG/x"
  grep -q "^ExecStart=/usr/sbin/aiked -c /etc/aike/aiked.toml$" "$PKG/x/usr/lib/systemd/system/aiked.service" ||
    fail "the packaged unit does not start /usr/sbin/aiked with /etc/aike/aiked.toml"
  echo "ok: $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB) has the files, the conffile and Depends"
else
  echo "note: cpack/dpkg-deb/dpkg-shlibdeps not found; Debian package not checked"
fi
echo PASS
