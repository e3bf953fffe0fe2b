#!/usr/bin/env bash
# Every C++ file of ours is as clang-format (.clang-format: Google, 100 columns) writes it.
# Fix with: git ls-files '*.cc' '*.h' | xargs clang-format -i
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mapfile -t files < <(find infra services gateway tests clients -path '*/node_modules' -prune -o \
  \( -name '*.cc' -o -name '*.h' \) -type f -print | sort)
((${#files[@]} > 0)) || { echo "format check: no C++ files found"; exit 1; }
clang-format --dry-run -Werror "${files[@]}"
echo "format check: ${#files[@]} files as clang-format writes them"
