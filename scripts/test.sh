#!/usr/bin/env bash
# Set-up (if needed) + the whole test suite in Release. Prints a final "N passed, N failed" line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GENSHARP_SETUP_TESTS=1 "$root/scripts/setup.sh"
# A real PostgreSQL (with pgvector) for the store tests, started here and stopped when the tests end.
export GENSHARP_TEST_POSTGRES
GENSHARP_TEST_POSTGRES=$("$root/scripts/postgres.sh" start)
log=$(mktemp)
trap 'rm -f "$log"; "$root/scripts/postgres.sh" stop' EXIT
set +e
dotnet test "$root/GenSharp.slnx" -c Release --no-build -nologo "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
echo "tests: $passed passed, $failed failed"
exit "$rc"
