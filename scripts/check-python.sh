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

# The unit tests on this machine's python3, then on pyenv's Python 3.6 when it is installed
# (PYENV_ROOT or ~/.pyenv, as test/lab/python.ts finds it): dom0's Python on XenServer 8 and
# XCP-ng 8.3, the oldest every program must run on.
pythons=(python3)
py36=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.6.*/bin/python 2>/dev/null | sort | tail -n1 || true)
if [ -n "$py36" ]; then pythons+=("$py36"); else echo "pyenv Python 3.6 not installed: unit tests run on python3 only"; fi
for py in "${pythons[@]}"; do
  for d in "${dirs[@]}"; do
    [ -d "$d/tests" ] || continue
    echo "unittest: $d on $("$py" -c 'import platform; print(platform.python_version())')"
    PYTHONDONTWRITEBYTECODE=1 "$py" -m unittest discover -s "$d/tests" -t "$d" -p 'test_*.py'
  done
done
