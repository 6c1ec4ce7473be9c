#include "tests/support/postgres_server.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <pqxx/pqxx>
#include <vector>

#include "tests/support/process.h"

namespace atmhealth::testing {
namespace {

// The socket's name is .s.PGSQL.<port>; without TCP the port only names it.
constexpr int kPort = 5432;
constexpr const char* kServerUser = "postgres";

bool IsRoot() { return ::geteuid() == 0; }

// Runs a PostgreSQL program to its end, as the server's user when root.
bool RunProgram(const std::filesystem::path& program, const std::vector<std::string>& args,
                const std::filesystem::path& log) {
  std::vector<std::string> argv;
  std::filesystem::path binary = program;
  if (IsRoot()) {
    binary = "/usr/sbin/runuser";
    argv = {"-u", kServerUser, "--", program.string()};
  }
  argv.insert(argv.end(), args.begin(), args.end());
  Process process(binary, argv, log);
  const std::optional<int> code = process.Wait(std::chrono::seconds(120));
  if (code != 0) {
    ADD_FAILURE() << program << " failed (" << (code ? std::to_string(*code) : "time-out") << "):\n"
                  << ReadFile(log);
    return false;
  }
  return true;
}

// Hands `path` to the server's user when root.
void GiveToServerUser(const std::filesystem::path& path) {
  if (!IsRoot()) return;
  const passwd* user = ::getpwnam(kServerUser);
  if (user == nullptr) {
    ADD_FAILURE() << "no user \"" << kServerUser << "\" to run PostgreSQL as (initdb refuses root)";
    return;
  }
  if (::chown(path.c_str(), user->pw_uid, user->pw_gid) != 0) {
    ADD_FAILURE() << "cannot chown " << path;
  }
}

}  // namespace

std::filesystem::path PostgresBinDir() {
  const std::filesystem::path root = "/usr/lib/postgresql";
  std::error_code ec;
  int newest = -1;
  std::filesystem::path found;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    if (!std::filesystem::exists(entry.path() / "bin" / "initdb")) continue;
    if (const int version = std::stoi(name); version > newest) {
      newest = version;
      found = entry.path() / "bin";
    }
  }
  return found;
}

std::unique_ptr<PostgresServer> PostgresServer::Start() {
  auto scratch = std::make_unique<ScratchDir>();
  ::chmod(scratch->path().c_str(), 0755);
  std::unique_ptr<PostgresServer> server = Start(scratch->path() / "pg");
  if (server != nullptr) server->scratch_ = std::move(scratch);
  return server;
}

std::unique_ptr<PostgresServer> PostgresServer::Start(const std::filesystem::path& directory) {
  const std::filesystem::path bin = PostgresBinDir();
  if (bin.empty()) {
    ADD_FAILURE() << "no PostgreSQL under /usr/lib/postgresql (scripts/install-deps.sh installs "
                     "it)";
    return nullptr;
  }
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  GiveToServerUser(directory);
  std::unique_ptr<PostgresServer> server(new PostgresServer(directory));
  if (!RunProgram(bin / "initdb",
                  {"-D", (directory / "data").string(), "-U", "postgres", "--auth=trust", "-E",
                   "UTF8", "--locale=C", "--no-sync"},
                  directory.parent_path() / (directory.filename().string() + "-initdb.log"))) {
    return nullptr;
  }
  server->owned_ = true;
  if (!server->Restart()) return nullptr;
  return server;
}

std::unique_ptr<PostgresServer> PostgresServer::Attach(const std::filesystem::path& directory) {
  return std::unique_ptr<PostgresServer>(new PostgresServer(directory));
}

PostgresServer::~PostgresServer() {
  if (owned_ && running_) Stop();
}

bool PostgresServer::Ctl(const std::string& action) {
  const std::filesystem::path bin = PostgresBinDir();
  std::vector<std::string> args = {action, "-w", "-t", "60", "-D", (directory_ / "data").string()};
  if (action == "start") {
    // Sockets in the directory only; fsync off: these servers hold test data
    // only, and a fast shutdown (what the tests do) writes everything anyway.
    args.insert(args.end(), {"-l", (directory_ / "server.log").string(), "-o",
                             "-k " + directory_.string() + " -p " + std::to_string(kPort) +
                                 " -c listen_addresses='' -c fsync=off -c max_connections=200"});
  } else {
    args.insert(args.end(), {"-m", "fast"});
  }
  return RunProgram(bin / "pg_ctl", args,
                    directory_.parent_path() / (directory_.filename().string() + "-ctl.log"));
}

bool PostgresServer::Stop() {
  running_ = !Ctl("stop");
  return !running_;
}

bool PostgresServer::Restart() {
  running_ = Ctl("start");
  return running_;
}

std::string PostgresServer::Url(const std::string& schema) const {
  std::string url = "host=" + directory_.string() + " port=" + std::to_string(kPort) +
                    " user=postgres dbname=postgres";
  if (!schema.empty()) url += " options='-c search_path=" + schema + "'";
  return url;
}

std::string PostgresServer::Log() const { return ReadFile(directory_ / "server.log"); }

namespace {

// The server this process uses: the one ctest started, or one of its own.
PostgresServer* SharedServer() {
  static std::unique_ptr<PostgresServer> server = [] {
    if (const char* directory = std::getenv("ATMHEALTH_TEST_POSTGRES");
        directory != nullptr && *directory != '\0') {
      return PostgresServer::Attach(directory);
    }
    return PostgresServer::Start();
  }();
  return server.get();
}

void Execute(const std::string& url, const std::string& sql) {
  try {
    pqxx::connection connection(url);
    pqxx::nontransaction work(connection);
    work.exec0(sql);
  } catch (const std::exception& error) {
    ADD_FAILURE() << sql << ": " << error.what();
  }
}

}  // namespace

SharedPostgresSchema::SharedPostgresSchema() {
  static std::atomic<int> next{0};
  PostgresServer* server = SharedServer();
  if (server == nullptr) {
    ADD_FAILURE() << "no PostgreSQL server for this test";
    return;
  }
  name_ = "test_" + std::to_string(::getpid()) + "_" + std::to_string(next++);
  Execute(server->Url(), "DROP SCHEMA IF EXISTS " + name_ + " CASCADE; CREATE SCHEMA " + name_);
  url_ = server->Url(name_);
}

SharedPostgresSchema::~SharedPostgresSchema() {
  if (PostgresServer* server = SharedServer(); server != nullptr && !name_.empty()) {
    Execute(server->Url(), "DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
  }
}

}  // namespace atmhealth::testing
