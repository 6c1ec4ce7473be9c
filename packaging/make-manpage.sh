#!/bin/sh
# Builds the manual page of one of the programs from its own --help and
# --version (help2man), so the page says what the program accepts. For a
# program with subcommands (atmhealthctl) every subcommand's --help becomes a
# subsection of COMMANDS. Extra sections (FILES, SEE ALSO, ...) come from
# packaging/man/<program>.h2m. Writes OUTPUT gzipped, reproducibly.
#
#   make-manpage.sh PROGRAM SECTION "WHATIS" INCLUDE OUTPUT
set -eu
program=$1 section=$2 whatis=$3 include=$4 output=$5
name=$(basename "$program")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Text printed by the program, as roff that shows it verbatim.
roff_verbatim() {
  sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"
}

cp "$include" "$work/include.h2m"
commands=$("$program" --help | sed -n '/^Subcommands:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
if [ -n "$commands" ]; then
  printf '[COMMANDS]\n' >> "$work/include.h2m"
  for command in $commands; do
    printf '.SS "%s %s"\n.nf\n' "$name" "$command" >> "$work/include.h2m"
    "$program" "$command" --help | roff_verbatim >> "$work/include.h2m"
    printf '.fi\n' >> "$work/include.h2m"
  done
fi

help2man --no-info --no-discard-stderr --section="$section" --name="$whatis" \
  --include="$work/include.h2m" --output="$work/page" "$program"
# help2man dates the page SOURCE_DATE_EPOCH when it is set (reproducible
# builds), else today.
gzip -9n < "$work/page" > "$output"
