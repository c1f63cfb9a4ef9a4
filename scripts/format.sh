#!/usr/bin/env bash
# Formats (or with --check, verifies) every C++ file the repo tracks or adds, with .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cpp' '*.hpp' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
[ ${#files[@]} -eq 0 ] && exit 0
if [ "${1:-}" = "--check" ]; then
  if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/cdlt-format.log; then
    head -40 /tmp/cdlt-format.log
    echo "format check failed: run 'make format'" >&2
    exit 1
  fi
else
  clang-format -i "${files[@]}"
fi
