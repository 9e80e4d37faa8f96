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
  echo "installing the project into .venv (log: .venv/install.log) ..." >&2
  if ! .venv/bin/python -m pip install -c constraints.txt -e ".${EXTRAS:+[$EXTRAS]}" \
      > .venv/install.log 2>&1; then
    tail -n 40 .venv/install.log >&2
    echo "error: installing the project failed (full log: .venv/install.log)" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
# No network at run time: models and data sets load from local folders only.
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
