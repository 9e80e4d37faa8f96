# Sourced by scripts/demo and scripts/test: makes .venv and installs the project into it, once
# per change of pyproject.toml or constraints.txt. Versions come from constraints.txt, so every
# machine runs what CI ran.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
EXTRAS=${1:-}
stamp=".venv/.install-stamp${EXTRAS:+-$EXTRAS}"
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing the project into .venv ..." >&2
  .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" >&2 || true
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".${EXTRAS:+[$EXTRAS]}" \
    2> >(grep -v "is ignored: it is neither" >&2)
  echo "$want" > "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
