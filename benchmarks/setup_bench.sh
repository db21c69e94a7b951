#!/usr/bin/env bash
# Installs what benchmarks/accuracy.py needs beyond the project's own packages: the Debian font
# packages that its typeset and handwriting categories draw digits with.
set -euo pipefail
cd "$(dirname "$0")"
packages=$(grep -v '^#' font-packages.txt)
missing=$(for p in $packages; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"
done)
if [ -z "$missing" ]; then
    echo "fonts: all $(echo $packages | wc -w) packages are installed"
    exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
