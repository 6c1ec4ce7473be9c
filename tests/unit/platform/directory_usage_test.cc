#include "platform/directory_usage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "platform/config_values.h"
#include "platform/text_input.h"
#include "tests/support/test_paths.h"
#include "tests/support/tmpfs.h"

namespace atmhealth::platform {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

void WriteBytes(const fs::path& file, std::size_t bytes) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out << std::string(bytes, 'x');
}

std::vector<std::string> Paths(const DirectoryUsage& usage, const fs::path& root) {
  std::vector<std::string> paths;
  for (const auto& directory : usage.largest) {
    paths.push_back(fs::path(directory.path).lexically_relative(root).string());
  }
  return paths;
}

// On a tmpfs every byte written is a byte allocated, so sizes are exact
// to the page.
TEST(LargestDirectories, ListsTheLargestDirectoriesOfTwoLevelsLargestFirst) {
  testing::ScratchDir scratch;
  testing::TmpfsMount tmpfs(scratch / "fs", "size=16m");
  ASSERT_TRUE(tmpfs.mounted());
  WriteBytes(tmpfs / "log/atm/journal.1", 3 << 20);
  WriteBytes(tmpfs / "log/atm/journal.2", 1 << 20);
  WriteBytes(tmpfs / "log/kern.log", 1 << 20);
  WriteBytes(tmpfs / "spool/receipts/0001", 2 << 20);
  WriteBytes(tmpfs / "log/atm/deep/er/than/two", 64 << 10);  // counted in its parents only
  WriteBytes(tmpfs / "top-level-file", 4 << 20);             // no directory to list

  DirectoryUsageLimits limits;
  limits.top = 4;
  auto usage = LargestDirectories(tmpfs.path().string(), limits);
  ASSERT_TRUE(usage.ok()) << usage.error().message();
  EXPECT_FALSE(usage->partial);
  EXPECT_THAT(Paths(*usage, tmpfs.path()),
              ElementsAre("log", "log/atm", "spool", "spool/receipts"));
  EXPECT_GE(usage->largest[0].bytes, (5u << 20) + (64u << 10));
  EXPECT_LT(usage->largest[0].bytes, (5u << 20) + (256u << 10));
  EXPECT_EQ(FormatBytes(usage->largest[2].bytes).substr(0, 7), "2.0 MiB");
}

TEST(LargestDirectories, StaysOnItsFilesystemAndNeverFollowsSymbolicLinks) {
  testing::ScratchDir scratch;
  testing::TmpfsMount outer(scratch / "fs", "size=8m");
  ASSERT_TRUE(outer.mounted());
  WriteBytes(outer / "small/file", 256 << 10);
  fs::create_directories(outer / "mnt");
  testing::TmpfsMount inner(outer / "mnt", "size=8m");
  ASSERT_TRUE(inner.mounted());
  WriteBytes(inner / "big/file", 4 << 20);
  WriteBytes(scratch / "elsewhere/big", 4 << 20);
  fs::create_directory_symlink(scratch / "elsewhere", outer / "link");

  auto usage = LargestDirectories(outer.path().string(), DirectoryUsageLimits{});
  ASSERT_TRUE(usage.ok()) << usage.error().message();
  ASSERT_FALSE(usage->largest.empty());
  EXPECT_EQ(Paths(*usage, outer.path()).front(), "small");
  for (const auto& directory : usage->largest) EXPECT_LT(directory.bytes, 1u << 20);
}

TEST(LargestDirectories, StopsAtItsEntryLimitAndSaysTheSizesArePartial) {
  testing::ScratchDir scratch;
  for (int i = 0; i < 50; ++i) WriteBytes(scratch / "many" / std::to_string(i), 10);
  DirectoryUsageLimits limits;
  limits.max_entries = 20;
  auto usage = LargestDirectories(scratch.path().string(), limits);
  ASSERT_TRUE(usage.ok()) << usage.error().message();
  EXPECT_TRUE(usage->partial);
  EXPECT_LE(usage->entries, 21u);
}

TEST(LargestDirectories, ARootThatCannotBeOpenedIsAnErrorNamingIt) {
  auto usage = LargestDirectories("/nonexistent/atmhealth", DirectoryUsageLimits{});
  ASSERT_FALSE(usage.ok());
  EXPECT_THAT(usage.error().message(), HasSubstr("/nonexistent/atmhealth"));
}

TEST(ReadFileTail, KeepsTheEndOfALongFileAndAllOfAShortOne) {
  testing::ScratchDir scratch;
  {
    std::ofstream out(scratch / "app.log");
    for (int i = 0; i < 1000; ++i) out << "line " << i << "\n";
  }
  auto tail = ReadFileTail((scratch / "app.log").string(), 18);
  ASSERT_TRUE(tail.ok()) << tail.error().message();
  EXPECT_EQ(*tail, "line 998\nline 999\n");
  auto whole = ReadFileTail((scratch / "app.log").string(), 1 << 20);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->size(), fs::file_size(scratch / "app.log"));
}

TEST(ReadFileTail, AFifoIsRefusedRatherThanReadSoItNeverBlocks) {
  testing::ScratchDir scratch;
  ASSERT_EQ(mkfifo((scratch / "fifo").c_str(), 0600), 0);
  auto tail = ReadFileTail((scratch / "fifo").string(), 100);
  ASSERT_FALSE(tail.ok());
  EXPECT_THAT(tail.error().message(), HasSubstr("not a regular file"));
  EXPECT_FALSE(ReadFileTail((scratch / "missing").string(), 100).ok());
}

TEST(FormatBytes, UsesTheLargestBinaryUnit) {
  EXPECT_EQ(FormatBytes(12), "12 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(3u << 20), "3.0 MiB");
  EXPECT_EQ(FormatBytes(5ull << 30), "5.0 GiB");
}

}  // namespace
}  // namespace atmhealth::platform
