#!/usr/bin/env bash
# Install the system libraries Qt needs, only when one is missing (plant PCs are offline;
# most desktops already have them). Offscreen tests need the first group; a real window on
# X11 also needs the xcb group (Qt >= 6.5 refuses to start its xcb plugin without
# libxcb-cursor0). Without root or a working apt, print the command instead of failing:
# the caller decides whether the missing library matters.
set -uo pipefail
# library file → Debian package
declare -A NEEDED=(
  [libEGL.so.1]=libegl1 [libGL.so.1]=libgl1 [libfontconfig.so.1]=libfontconfig1
  [libxkbcommon.so.0]=libxkbcommon0 [libglib-2.0.so.0]=libglib2.0-0 [libdbus-1.so.3]=libdbus-1-3
  [libX11.so.6]=libx11-6 [libfreetype.so.6]=libfreetype6
  [libxkbcommon-x11.so.0]=libxkbcommon-x11-0 [libxcb-cursor.so.0]=libxcb-cursor0
  [libxcb-icccm.so.4]=libxcb-icccm4 [libxcb-keysyms.so.1]=libxcb-keysyms1
  [libxcb-image.so.0]=libxcb-image0 [libxcb-render-util.so.0]=libxcb-render-util0
  [libxcb-shape.so.0]=libxcb-shape0 [libxcb-xinerama.so.0]=libxcb-xinerama0
  [libxcb-randr.so.0]=libxcb-randr0
)
[ "$(uname -s)" = Linux ] || exit 0
command -v ldconfig >/dev/null 2>&1 || PATH="$PATH:/sbin:/usr/sbin"
known=$(ldconfig -p 2>/dev/null)
missing=()
for lib in "${!NEEDED[@]}"; do
  grep -q "$lib" <<<"$known" || missing+=("${NEEDED[$lib]}")
done
# Commands the tests need: socat makes the pty pair of the Modbus RTU tests (skipped, with
# that reason, where it is missing).
command -v socat >/dev/null 2>&1 || missing+=(socat)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Qt (or the tests) need system packages that are missing: ${missing[*]}" >&2
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install them with your package manager (names above are Debian's)" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "run: sudo apt-get install -y ${missing[*]}" >&2
    exit 0
  fi
fi
$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
  --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "apt-get could not install them; run: apt-get install -y ${missing[*]}" >&2
exit 0
