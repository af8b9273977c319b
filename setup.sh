#!/usr/bin/env bash
# Install what perfdoc needs on a Debian/Ubuntu machine, skipping what is already there.
#   bash setup.sh          system libraries + fonts, then perfdoc itself (pip, editable)
#   bash setup.sh --test   the same, plus what the tests need
# Run as root, or as a user who may sudo. Used by the README's two commands and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

# Pango for WeasyPrint; libharfbuzz-subset0 makes CJK font subsetting ~30x faster;
# fonts-noto-cjk is the open fallback for 仿宋/小标宋/黑体 (official fonts are used when installed).
required=(fontconfig libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk)
# Nice to have: a real 楷体-style face (else Noto Serif stands in for the （一） headings);
# for the tests: PDF tools, LibreOffice, and chromium + its driver for the live-preview browser test
# (tests that need them say "skipped" without them).
optional=(fonts-lxgw-wenkai)
if [ $with_tests = 1 ]; then
  optional+=(poppler-utils qpdf libreoffice-writer-nogui chromium chromium-driver)
fi

missing() {
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}
sudo_cmd=""
[ "$(id -u)" = 0 ] || sudo_cmd="sudo"
need_required=$(missing "${required[@]}")
need_optional=$(missing "${optional[@]}")
if [ -n "$need_required$need_optional" ]; then
  echo "setup: installing" $need_required $need_optional >&2
  $sudo_cmd apt-get update -q
fi
if [ -n "$need_required" ]; then
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends $need_required
fi
for p in $need_optional; do
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "$p" \
    || echo "setup: could not install $p (optional), going on without it" >&2
done

extra=""
[ $with_tests = 1 ] && extra="[test]"
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1
"$PYTHON" -m pip install -q -e ".${extra}"
