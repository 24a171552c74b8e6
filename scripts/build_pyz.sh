#!/usr/bin/env bash
# Build the single-file haimaker: one `haimaker.pyz` holding the code, its dependencies, the
# migrations and the admin page's templates and static files (shiv; see setup.py).
# Run it with `python3 haimaker.pyz` (same commands as run.py). It holds compiled wheels
# (asyncpg, orjson, …), so it runs on the same Python version and platform as the build.
#
#   scripts/build_pyz.sh [OUTPUT]        default: dist/haimaker.pyz
#   PYTHON=/path/to/python scripts/build_pyz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
output="${1:-dist/haimaker.pyz}"
mkdir -p "$(dirname "$output")"

"$PYTHON" -m shiv \
    --entry-point app.cli:main \
    --python "/usr/bin/env python3" \
    --compressed \
    --reproducible \
    --output-file "$output" \
    --quiet \
    .
echo "built $output ($(du -h "$output" | cut -f1))"
