// ctest's fixture "postgres": `start DIR` starts the PostgreSQL server that
// the tests requiring the fixture share, `stop DIR` stops it and removes
// DIR (tests/support/postgres_server.h).
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "tests/support/postgres_server.h"

int main(int argc, char** argv) {
  using atmhealth::testing::PostgresServer;
  if (argc != 3 || (std::strcmp(argv[1], "start") != 0 && std::strcmp(argv[1], "stop") != 0)) {
    std::fprintf(stderr, "usage: %s start|stop DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path directory = argv[2];
  std::error_code ec;
  // A server left by an interrupted run goes first.
  if (std::filesystem::exists(directory / "data" / "postmaster.pid", ec)) {
    PostgresServer::Attach(directory)->Stop();
  }
  std::filesystem::remove_all(directory, ec);
  if (std::strcmp(argv[1], "stop") == 0) return 0;
  std::unique_ptr<PostgresServer> server = PostgresServer::Start(directory);
  if (server == nullptr) return 1;
  server->Release();
  std::printf("PostgreSQL running in %s: %s\n", directory.c_str(), server->Url().c_str());
  return 0;
}
