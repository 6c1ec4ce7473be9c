// The dashboard's files as the collector serves them, over real TCP.
#include "collector/http/dashboard_routes.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <filesystem>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace atmhealth::collector {
namespace {

using atmhealth::testing::HttpGet;
using atmhealth::testing::HttpReply;

class DashboardRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = HttpServer::Bind(io_, HttpServer::Options{}, registry_);
    ASSERT_TRUE(server.ok()) << server.error().message();
    server_ = std::move(*server);
    AddDashboardRoutes(*server_);
    server_->Start();
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    server_->Stop();
    work_.reset();
    thread_.join();
  }

  prometheus::Registry registry_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(DashboardRoutesTest, EveryFileOfTheDashboardFolderIsServedAsItIsInTheSourceTree) {
  const std::filesystem::path folder = testing::SourceFile("collector/http/dashboard");
  std::set<std::string> on_disk;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    on_disk.insert(entry.path().filename().string());
  }
  std::set<std::string> embedded;
  for (const EmbeddedFile& file : DashboardFiles()) embedded.insert(std::string(file.name));
  EXPECT_EQ(embedded, on_disk) << "collector/CMakeLists.txt lists the dashboard's files";

  for (const std::string& name : on_disk) {
    const std::string target = name == "index.html" ? "/dashboard/" : "/dashboard/" + name;
    Result<HttpReply> reply = HttpGet(server_->port(), target);
    ASSERT_TRUE(reply.ok()) << target;
    EXPECT_EQ(reply->status, 200u) << target;
    EXPECT_EQ(reply->body, testing::ReadFile(folder / name)) << target;
    EXPECT_EQ(reply->headers["Content-Type"], std::string(ContentTypeOf(name))) << target;
    EXPECT_EQ(reply->headers["X-Content-Type-Options"], "nosniff");
    EXPECT_NE(reply->headers["Content-Security-Policy"].find("default-src 'none'"),
              std::string::npos);
  }
}

TEST_F(DashboardRoutesTest, PageLoadsNothingFromAnotherOrigin) {
  // No CDN, no external font, no inline script: everything the page refers
  // to is under /dashboard/, and the API it calls is the collector's own.
  const std::regex external(R"((https?:)?//[a-z0-9.-]+\.[a-z]{2,})", std::regex::icase);
  const std::regex reference(R"re((src|href)="([^"]*)")re");
  for (const EmbeddedFile& file : DashboardFiles()) {
    const std::string content(file.content);
    EXPECT_FALSE(std::regex_search(content, external)) << file.name;
    EXPECT_EQ(content.find("@import"), std::string::npos) << file.name;
    for (auto it = std::sregex_iterator(content.begin(), content.end(), reference);
         it != std::sregex_iterator(); ++it) {
      EXPECT_EQ((*it)[2].str().rfind("/dashboard/", 0), 0u) << file.name << ": " << (*it)[0];
    }
  }
}

TEST_F(DashboardRoutesTest, RootAndBareDashboardPathLeadToThePage) {
  for (const char* target : {"/", "/dashboard"}) {
    Result<HttpReply> reply = HttpGet(server_->port(), target);
    ASSERT_TRUE(reply.ok()) << target;
    EXPECT_EQ(reply->status, 303u) << target;
    EXPECT_EQ(reply->headers["Location"], "/dashboard/") << target;
  }
}

}  // namespace
}  // namespace atmhealth::collector
