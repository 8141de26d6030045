#!/usr/bin/env bash
# The layering check: every call between evlog's C files runs down.
#
# Reads the layer of each src/*.c file from docs/layers.md (table lines
# "| N | src/FILE.c | purpose |"), then, for each built object src/FILE.o,
# maps each undefined symbol to the object that defines it (nm) and fails
# when that object is the same file's peer or above it: its layer must be
# strictly lower.  Edges listed in docs/layers.md as "upward FROM TO SYMBOL"
# (the ones still to remove) are reported but tolerated.  A file with no
# layer, or a layer line for a file that does not exist, fails too, and so
# does a global symbol that only its own file uses (it should be static).
#
# Usage: bash test/layers.sh   (after make; prints one line per violation,
# then "layers: ok" or "layers: N violations"; exits non-zero on failure)
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
DOC="$SRC/docs/layers.md"
cd "$SRC" || exit 1

declare -A layer allowed defined_by
bad=0

while read -r n f; do
  layer[$f]=$n
done < <(sed -nE 's/^\| *([0-9]+) *\| *`?src\/([a-z0-9_]+)\.c`? *\|.*/\1 \2/p' "$DOC")
while read -r from to sym; do
  allowed["$from $to $sym"]=1
done < <(sed -nE 's/^upward +([a-z0-9_]+) +([a-z0-9_]+) +([A-Za-z0-9_]+) *$/\1 \2 \3/p' "$DOC")

for c in src/*.c; do
  f=$(basename "$c" .c)
  if [ -z "${layer[$f]:-}" ]; then echo "layers: src/$f.c has no line in docs/layers.md"; bad=$((bad + 1)); fi
  if [ ! -f "src/$f.o" ]; then echo "layers: src/$f.o is not built (run make first)"; bad=$((bad + 1)); fi
done
for f in "${!layer[@]}"; do
  [ -f "src/$f.c" ] || { echo "layers: docs/layers.md lists src/$f.c, which does not exist"; bad=$((bad + 1)); }
done
[ "$bad" -eq 0 ] || { echo "layers: $bad violations"; exit 1; }

for o in src/*.o; do
  f=$(basename "$o" .o)
  while read -r sym; do defined_by[$sym]=$f; done < <(nm -g --defined-only "$o" | awk '$2 ~ /^[TDBRC]$/ {print $3}')
done
for o in src/*.o; do
  f=$(basename "$o" .o)
  while read -r sym; do
    to=${defined_by[$sym]:-}
    [ -n "$to" ] && [ "$to" != "$f" ] || continue
    if [ "${layer[$to]}" -ge "${layer[$f]}" ]; then
      if [ -n "${allowed["$f $to $sym"]:-}" ]; then
        echo "layers: tolerated upward edge $f (${layer[$f]}) -> $to (${layer[$to]}): $sym"
      else
        echo "layers: $f (layer ${layer[$f]}) calls $to (layer ${layer[$to]}): $sym"
        bad=$((bad + 1))
      fi
    fi
  done < <(nm -u "$o" | awk '{print $2}')
done

# What one file alone uses is static: a global symbol no other object uses
# fails, unless PostgreSQL looks it up by name (an SQL-callable function,
# which has its pg_finfo_ record, a background worker's *_main entry point,
# _PG_init and the module's magic block).
declare -A used_elsewhere
for o in src/*.o; do
  f=$(basename "$o" .o)
  while read -r sym; do
    to=${defined_by[$sym]:-}
    [ -n "$to" ] && [ "$to" != "$f" ] && used_elsewhere[$sym]=1
  done < <(nm -u "$o" | awk '{print $2}')
done
for sym in "${!defined_by[@]}"; do
  case $sym in _PG_init | Pg_magic_func | pg_finfo_* | *_main) continue ;; esac
  [ -n "${defined_by[pg_finfo_$sym]:-}" ] && continue
  [ -n "${used_elsewhere[$sym]:-}" ] && continue
  echo "layers: ${defined_by[$sym]}.c exports $sym, which no other file uses: make it static"
  bad=$((bad + 1))
done
if [ "$bad" -eq 0 ]; then echo "layers: ok"; else echo "layers: $bad violations"; exit 1; fi
