#!/usr/bin/env bash
# The Python programs we ship to hosts and routers: pyflakes on every file, then each
# program folder's unit tests (tests/test_*.py, standard-library unittest). Part of `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Program folders: their files have no .py suffix when they are entry points (sdn-ovs,
# sdn-router), so they are listed by folder, not by glob.
dirs=(services/hypervisor-agent/host services/vr-manager/router)
files=()
for d in "${dirs[@]}"; do
  while IFS= read -r f; do
    # Python by suffix, by shebang, or a shell-and-Python polyglot (the XAPI plugin picks dom0's
    # Python in its shell part, see services/hypervisor-agent/host/sdn-ovs).
    if [[ "$f" == *.py ]] || head -n1 "$f" | grep -q '^#!.*python' || sed -n 2p "$f" | grep -q '^""":"$'; then
      files+=("$f")
    fi
  done < <(find "$d" -type f ! -name '*.pyc' ! -path '*/__pycache__/*' | sort)
done
while IFS= read -r f; do files+=("$f"); done < <(git ls-files 'test/**/*.py' 'test/*.py')

pyflakes=$(command -v pyflakes3 || command -v pyflakes || true)
if [ -z "$pyflakes" ]; then
  echo "pyflakes3 is missing: apt-get install pyflakes3" >&2
  exit 2
fi
"$pyflakes" "${files[@]}"
echo "pyflakes: ${#files[@]} files clean"

for d in "${dirs[@]}"; do
  [ -d "$d/tests" ] || continue
  PYTHONDONTWRITEBYTECODE=1 python3 -m unittest discover -s "$d/tests" -t "$d" -p 'test_*.py'
done
