#include "platform/filesystem_stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "tests/support/test_paths.h"
#include "tests/support/tmpfs.h"

namespace atmhealth::platform {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;

constexpr std::uint64_t kMiB = 1024 * 1024;

TEST(FilesystemStats, UsedPercentCountsRootReserveAsUnavailableLikeDf) {
  FilesystemStats stats;
  stats.total_bytes = 1000;
  stats.free_bytes = 200;  // 100 of them reserved for root
  stats.available_bytes = 100;
  // df: used / (used + available) = 800 / 900.
  EXPECT_DOUBLE_EQ(stats.UsedPercent(), 100.0 * 800 / 900);
}

TEST(FilesystemStats, FullFilesystemIsHundredPercentEvenWithRootReserveLeft) {
  FilesystemStats stats;
  stats.total_bytes = 1000;
  stats.free_bytes = 50;
  stats.available_bytes = 0;
  EXPECT_DOUBLE_EQ(stats.UsedPercent(), 100.0);
}

TEST(FilesystemStats, EmptyOrSizelessFilesystemIsZeroPercent) {
  FilesystemStats empty;
  EXPECT_DOUBLE_EQ(empty.UsedPercent(), 0.0);
  EXPECT_DOUBLE_EQ(empty.InodesUsedPercent(), 0.0);
}

TEST(FilesystemStats, InodesUsedPercent) {
  FilesystemStats stats;
  stats.total_inodes = 200;
  stats.free_inodes = 50;
  EXPECT_DOUBLE_EQ(stats.InodesUsedPercent(), 75.0);
}

auto IsMount(const std::string& device, const std::string& path, const std::string& type) {
  return AllOf(Field("device", &MountPoint::device, device), Field("path", &MountPoint::path, path),
               Field("type", &MountPoint::type, type));
}

TEST(ListDataMounts, KeepsDataFilesystemsAndLeavesPseudoAndScratchOut) {
  auto mounts = ListDataMounts(testing::Fixture("proc").string());
  ASSERT_TRUE(mounts.ok()) << mounts.error().message();
  // Left out: sysfs, proc, devtmpfs, devpts, cgroup2, autofs, binfmt_misc,
  // mqueue, hugetlbfs, debugfs, tracefs, ... and tmpfs on /run, /run/lock,
  // /run/user/1000, /dev/shm.
  EXPECT_THAT(mounts->problems, ::testing::IsEmpty());
  EXPECT_THAT(
      mounts->mounts,
      ElementsAre(IsMount("/dev/mapper/vg0-root", "/", "ext4"),
                  IsMount("/dev/sda1", "/boot", "ext4"), IsMount("/dev/sda2", "/boot/efi", "vfat"),
                  // Mounted twice: the later mount hides the earlier.
                  IsMount("/dev/mapper/vg1-var", "/var", "ext4"),
                  // "\040" in /proc/self/mounts is a space.
                  IsMount("/dev/mapper/vg0-journal", "/var/lib/atm journal", "ext4"),
                  IsMount("fileserver:/export/ej", "/mnt/ej", "nfs4"),
                  IsMount("tmpfs", "/var/spool/atm", "tmpfs")));
}

TEST(ListDataMounts, MissingMountTableIsNotFoundAndNamesThePath) {
  testing::ScratchDir scratch;
  auto mounts = ListDataMounts((scratch / "no-proc").string());
  ASSERT_FALSE(mounts.ok());
  EXPECT_EQ(mounts.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(mounts.error().message(), HasSubstr("no-proc/self/mounts"));
}

TEST(ListDataMounts, TruncatedAndGarbageLinesAreSkipped) {
  testing::ScratchDir scratch;
  std::filesystem::create_directories(scratch / "self");
  std::ofstream(scratch / "self" / "mounts")
      << "garbage\n\n/dev/sdb1\n/dev/sdb2 /data\n/dev/sdb3 /srv xfs rw 0 0\n"
      << "/dev/sdb4 /odd\\04 ext4 rw 0 0\n\\\\\\ \\999 ext4\n"
      << "tmpfs /runbooks tmpfs rw 0 0\ntmpfs /run/x tmpfs rw 0 0\n";
  auto mounts = ListDataMounts(scratch.path().string());
  ASSERT_TRUE(mounts.ok()) << mounts.error().message();
  // Every unreadable line is reported with its line number, the blank one is not.
  EXPECT_THAT(mounts->problems,
              ElementsAre(HasSubstr("self/mounts:1: "), HasSubstr("self/mounts:3: "),
                          HasSubstr("self/mounts:4: ")));
  EXPECT_THAT(mounts->mounts, ElementsAre(IsMount("/dev/sdb3", "/srv", "xfs"),
                                          IsMount("/dev/sdb4", "/odd\\04", "ext4"),
                                          IsMount("\\\\\\", "\\999", "ext4"),
                                          // Named like /run, but not under it.
                                          IsMount("tmpfs", "/runbooks", "tmpfs")));
}

// A tmpfs mounted on a scratch directory for the test's lifetime. Mounting
// needs root: without it the test fails with a message saying so.
class TmpfsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(disk_.mounted()); }
  std::string mount_dir() const { return scratch_.path().string(); }

  void WriteFile(const std::string& name, std::uint64_t bytes) {
    std::ofstream out(scratch_ / name, std::ios::binary);
    const std::string chunk(64 * 1024, 'x');
    for (std::uint64_t written = 0; written < bytes; written += chunk.size()) out << chunk;
    ASSERT_TRUE(out.good());
  }

  testing::ScratchDir scratch_;
  testing::TmpfsMount disk_{scratch_.path(), "size=8m,nr_inodes=64"};
};

TEST_F(TmpfsTest, StatvfsProbeReportsTheBytesAndInodesWritten) {
  auto probe = FilesystemProbe::Create(std::chrono::seconds(2));
  auto before = probe->Probe(mount_dir());
  ASSERT_TRUE(before.ok()) << before.error().message();
  EXPECT_EQ(before->total_bytes, 8 * kMiB);
  EXPECT_EQ(before->free_bytes, 8 * kMiB);
  EXPECT_EQ(before->total_inodes, 64u);
  EXPECT_EQ(before->free_inodes, 63u);  // the root directory
  EXPECT_FALSE(before->read_only);

  WriteFile("journal.dat", 6 * kMiB);
  WriteFile("a", 0);
  WriteFile("b", 0);
  auto after = probe->Probe(mount_dir());
  ASSERT_TRUE(after.ok()) << after.error().message();
  EXPECT_EQ(after->total_bytes, 8 * kMiB);
  EXPECT_EQ(after->free_bytes, 2 * kMiB);
  EXPECT_EQ(after->available_bytes, 2 * kMiB);
  EXPECT_EQ(after->free_inodes, 60u);
  EXPECT_DOUBLE_EQ(after->UsedPercent(), 75.0);
  EXPECT_DOUBLE_EQ(after->InodesUsedPercent(), 100.0 * 4 / 64);
}

TEST_F(TmpfsTest, StatvfsProbeSeesReadOnlyRemount) {
  auto probe = FilesystemProbe::Create(std::chrono::seconds(2));
  ASSERT_TRUE(disk_.RemountReadOnly());
  auto stats = probe->Probe(mount_dir());
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_TRUE(stats->read_only);
}

TEST(StatvfsProbe, MissingPathIsNotFoundAndNamesThePath) {
  testing::ScratchDir scratch;
  const std::string missing = (scratch / "gone").string();
  auto stats = FilesystemProbe::Create(std::chrono::seconds(2))->Probe(missing);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(stats.error().message(), HasSubstr(missing));
}

TEST(StatvfsProbe, ProbeThreadThatCannotStartIsAnErrorValueNotAnException) {
  auto probe = FilesystemProbe::Create(std::chrono::seconds(2));
  ASSERT_TRUE(probe->Probe("/").ok());
  // In a child, so the limit binds nobody else: an unprivileged user allowed
  // one process, so the probe's thread cannot start (root is exempt from
  // RLIMIT_NPROC, hence the user). Exit codes: 0 the error value, 1 a value
  // that is not that error, 2 probed fine (the limit did not bind), 3 the
  // limit could not be set, and SIGABRT when the probe threw.
  const pid_t child = fork();
  ASSERT_GE(child, 0) << std::strerror(errno);
  if (child == 0) {
    const struct rlimit one_process { 1, 1 };
    if (setrlimit(RLIMIT_NPROC, &one_process) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
      _exit(3);
    }
    const auto stats = probe->Probe("/");
    if (stats.ok()) _exit(2);
    const bool expected =
        stats.error().code() == ErrorCode::kUnavailable &&
        stats.error().message().find("cannot start the probe's thread") != std::string::npos &&
        stats.error().message().find("\"/\"") != std::string::npos;
    _exit(expected ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_FALSE(WIFSIGNALED(status)) << "the probe threw: signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace atmhealth::platform
