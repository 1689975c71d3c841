#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every source file of the project names its licence in its first lines
# (`SPDX-License-Identifier: Apache-2.0`). With --fix, adds the line where it is missing (after a
# shebang or a doctype). Run by CTest (Licence.EverySourceNamesItsLicence).
set -euo pipefail
cd "$(dirname "$0")/.."
fix=${1:-}
tag='SPDX-License-Identifier: Apache-2.0'
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files=$(git ls-files)
else
  files=$(find . -path ./build\* -prune -o -path '*/node_modules' -prune -o -type f -print | sed 's|^\./||')
fi
missing=0
while IFS= read -r f; do
  case "$f" in
    fuzz/corpus/*|tests/data/*) continue ;;
    *.cpp|*.hpp|*.h|*.c|*.js|*.mjs) comment="// $tag" ;;
    *.sh|*.py|*.cmake|*/CMakeLists.txt|CMakeLists.txt|.ci/run) comment="# $tag" ;;
    *.css) comment="/* $tag */" ;;
    *.html) comment="<!-- $tag -->" ;;
    *) continue ;;
  esac
  [ -f "$f" ] || continue
  if head -n 3 "$f" | grep -qF "$tag"; then continue; fi
  if [ "$fix" = --fix ]; then
    first=$(head -n 1 "$f")
    if [[ "$first" == '#!'* || "$first" == '<!DOCTYPE'* || "$first" == '<!doctype'* ]]; then
      { printf '%s\n%s\n' "$first" "$comment"; tail -n +2 "$f"; } > "$f.spdx"
    else
      { printf '%s\n' "$comment"; cat "$f"; } > "$f.spdx"
    fi
    chmod --reference="$f" "$f.spdx"
    mv "$f.spdx" "$f"
  else
    echo "no licence line: $f"
    missing=$((missing + 1))
  fi
done <<< "$files"
if [ "$missing" -gt 0 ]; then
  echo "$missing file(s) without '$tag' in their first three lines (scripts/check-spdx.sh --fix adds it)"
  exit 1
fi
