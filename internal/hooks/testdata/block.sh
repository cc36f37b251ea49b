#!/bin/sh
# block.sh DIR NAME: a test command. It appends "start NAME" to DIR/log,
# creates DIR/started.NAME, waits until DIR/release exists, then appends
# "end NAME" to DIR/log.
dir=$1
echo "start $2" >> "$dir/log"
: > "$dir/started.$2"
while [ ! -e "$dir/release" ]; do sleep 0.01; done
echo "end $2" >> "$dir/log"
