#!/bin/sh
# record.sh OUT ARGS...: a test command. It writes ARGS, each terminated by
# a NUL byte, to OUT.args and its standard input to OUT.stdin, and appends
# OUT to the file "order" next to OUT.
out=$1
shift
for a in "$@"; do printf '%s\0' "$a"; done > "$out.args.tmp"
cat > "$out.stdin.tmp"
mv "$out.stdin.tmp" "$out.stdin"
mv "$out.args.tmp" "$out.args"
echo "$out" >> "$(dirname "$out")/order"
