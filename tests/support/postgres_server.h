// A real PostgreSQL server for tests, started by the test itself: initdb and
// pg_ctl of the installed PostgreSQL (Debian: /usr/lib/postgresql/<version>/
// bin, the newest one found) into a fresh directory, listening on a unix
// socket in that directory only (no TCP port to collide with), stopped and
// removed at the end. initdb refuses to run as root, so as root (CI) the
// server runs as the `postgres` system user, through runuser.
//
// Starting a server takes seconds (initdb), so tests share one: ctest
// starts it once for every test that requires the fixture "postgres" and
// passes its directory in ATMHEALTH_TEST_POSTGRES; a test binary run by
// hand starts its own for its lifetime. Each test works in a schema of its
// own (SharedPostgresSchema), so tests run in parallel on one server.
#ifndef ATMHEALTH_TESTS_SUPPORT_POSTGRES_SERVER_H_
#define ATMHEALTH_TESTS_SUPPORT_POSTGRES_SERVER_H_

#include <filesystem>
#include <memory>
#include <string>

#include "tests/support/test_paths.h"

namespace atmhealth::testing {

class PostgresServer {
 public:
  // Creates the cluster in `directory` (made if missing) and starts it; a
  // failure fails the test and returns null. `directory` must be short: the
  // socket's path is limited to 107 bytes.
  static std::unique_ptr<PostgresServer> Start(const std::filesystem::path& directory);
  // A server in a fresh scratch directory of its own.
  static std::unique_ptr<PostgresServer> Start();
  // The server already running in `directory` (started by Start there).
  static std::unique_ptr<PostgresServer> Attach(const std::filesystem::path& directory);
  ~PostgresServer();  // stops a server this object started (not an attached one)
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // libpq connection string of the database "postgres" as the superuser
  // "postgres", with `search_path` set to `schema` when not empty.
  std::string Url(const std::string& schema = "") const;

  // pg_ctl stop -m fast: sessions are disconnected, the server goes away.
  bool Stop();
  // pg_ctl start again on the same data.
  bool Restart();

  // Leaves the server running when this object goes away (ctest's fixture
  // program starts it for the later tests).
  void Release() { owned_ = false; }

  const std::filesystem::path& directory() const { return directory_; }
  std::string Log() const;

 private:
  explicit PostgresServer(std::filesystem::path directory) : directory_(std::move(directory)) {}
  bool Ctl(const std::string& action);

  std::unique_ptr<ScratchDir> scratch_;  // when Start() made the directory
  std::filesystem::path directory_;
  bool owned_ = false;
  bool running_ = false;
};

// The directory of the newest installed PostgreSQL's programs (initdb,
// pg_ctl); empty when none is installed.
std::filesystem::path PostgresBinDir();

// A schema of its own on the shared server (see above), dropped with
// everything in it when the object goes away.
class SharedPostgresSchema {
 public:
  SharedPostgresSchema();  // fails the test when there is no server
  ~SharedPostgresSchema();
  SharedPostgresSchema(const SharedPostgresSchema&) = delete;
  SharedPostgresSchema& operator=(const SharedPostgresSchema&) = delete;

  // Connection string whose search_path is the schema.
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::string url_;
};

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_POSTGRES_SERVER_H_
