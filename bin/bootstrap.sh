# Sourced by bin/serve, bin/test and .ci/run: make a virtualenv in .venv with exactly the locked
# packages. Usage: LOCK=requirements/dev.lock . bin/bootstrap.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LOCK="${LOCK:-requirements/dev.lock}"
UV_VERSION="0.13.9"

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      PYTHON="$candidate"
      break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "Python 3.11 or newer is required (none found on PATH)." >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> Creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -m uv --version 2>/dev/null | grep -q "$UV_VERSION"; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
echo "==> Installing locked packages from $LOCK"
.venv/bin/python -m uv pip sync --quiet --python .venv/bin/python "$LOCK"
export PATH="$ROOT/.venv/bin:$PATH"
