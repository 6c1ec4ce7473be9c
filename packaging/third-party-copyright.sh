#!/bin/sh
# Writes, gzipped to OUT, the copyright and licence of every library compiled
# into the programs: atmhealthd carries OpenSSL, SQLite, protobuf, abseil,
# pugixml, spdlog, {fmt} and toml++ (cmake/AgentFootprint.cmake), and every
# program the header-only CLI11, nlohmann-json, date and Boost. Each text is
# the Debian package's own copyright file, found through a header the build
# used, so it names the version that was built in.
#
#   third-party-copyright.sh OUT
set -eu
out=$1
tmp=$out.tmp
{
  echo "Libraries compiled into atmhealthd, atmhealthctl and atmhealth-collector,"
  echo "with the copyright files of the Debian packages they were built from."
  for header in openssl/ssl.h sqlite3.h google/protobuf/message_lite.h absl/time/time.h \
      pugixml.hpp spdlog/spdlog.h fmt/core.h toml++/toml.h CLI/CLI.hpp nlohmann/json.hpp \
      date/date.h boost/version.hpp; do
    package=$(dpkg-query -S "/usr/include/$header" | head -n 1 | cut -d: -f1)
    version=$(dpkg-query -W -f '${Version}' "$package")
    echo
    echo "==== $package $version (/usr/include/$header)"
    echo
    cat "/usr/share/doc/$package/copyright"
  done
} >"$tmp"
gzip -9n <"$tmp" >"$out"
rm -f "$tmp"
