// Opening a FIFO for reading without a writer, and what is not one.
#include "platform/fifo.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/process.h"
#include "tests/support/test_paths.h"

namespace atmhealth::platform {
namespace {

TEST(OpenFifoForReading, OpensAtOnceWithoutAWriterAndReadsWhatOneWrites) {
  testing::ScratchDir scratch;
  const std::string path = (scratch / "vrrp.fifo").string();
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  asio::io_context io;
  // No writer: a blocking open would wait here for ever.
  auto fifo = OpenFifoForReading(io.get_executor(), path);
  ASSERT_TRUE(fifo.ok()) << fifo.error().message();
  char buffer[64];
  boost::system::error_code ec;
  fifo->read_some(asio::buffer(buffer), ec);
  EXPECT_EQ(ec, asio::error::eof);  // nobody has it open for writing

  const int writer = ::open(path.c_str(), O_WRONLY | O_NONBLOCK);
  ASSERT_GE(writer, 0);
  fifo->read_some(asio::buffer(buffer), ec);
  EXPECT_EQ(ec, asio::error::would_block);  // a writer, nothing written yet
  ASSERT_EQ(::write(writer, "INSTANCE \"VI_1\" MASTER 100\n", 27), 27);
  const std::size_t read = fifo->read_some(asio::buffer(buffer), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string(buffer, read), "INSTANCE \"VI_1\" MASTER 100\n");
  ::close(writer);
  fifo->read_some(asio::buffer(buffer), ec);
  EXPECT_EQ(ec, asio::error::eof);  // the writer went away
}

TEST(OpenFifoForReading, MissingFileOrAFileThatIsNoFifoIsAnErrorNamingIt) {
  testing::ScratchDir scratch;
  asio::io_context io;
  const std::string missing = (scratch / "none.fifo").string();
  auto absent = OpenFifoForReading(io.get_executor(), missing);
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(absent.error().message().find(missing), std::string::npos);

  const std::string regular = (scratch / "regular").string();
  testing::WriteFile(regular, "INSTANCE \"VI_1\" MASTER 100\n");
  auto not_fifo = OpenFifoForReading(io.get_executor(), regular);
  ASSERT_FALSE(not_fifo.ok());
  EXPECT_EQ(not_fifo.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(not_fifo.error().message(),
            regular + ": not a FIFO (keepalived makes it, or mkfifo does)");
}

}  // namespace
}  // namespace atmhealth::platform
