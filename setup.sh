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
# fonts-noto-cjk and fonts-lxgw-wenkai are the open fallbacks for 仿宋/小标宋/黑体 and 楷体
# (official fonts are used when installed).
packages=(fontconfig libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk fonts-lxgw-wenkai)
if [ $with_tests = 1 ]; then
  packages+=(poppler-utils qpdf libreoffice-writer-nogui)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

extra=""
[ $with_tests = 1 ] && extra="[test]"
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1
"$PYTHON" -m pip install -q -e ".${extra}"
