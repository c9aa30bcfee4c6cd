// Pipes (kernel/fs/pipe.h) without a waiter, so nothing blocks: where the kernel would wait the
// pipe says EAGAIN. The ring buffer wrapping round, PIPE_BUF-atomic writes, end of file when the
// last writer goes, EPIPE when the last reader goes, and the ends through fs::read/write/release.
#include "fs/pipe.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fs/fd_table.h"
#include "fs/file.h"

namespace fs = ferrite::fs;
namespace uapi = ferrite::abi;

namespace {

std::span<const std::byte> bytes_of(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

std::string read_string(fs::OpenFile& file, std::size_t count) {
  std::vector<std::byte> buffer(count);
  auto got = fs::read(file, buffer);
  EXPECT_TRUE(got.has_value());
  return {reinterpret_cast<const char*>(buffer.data()), got.value_or(0)};
}

struct Ends {
  fs::OpenFile* read = nullptr;
  fs::OpenFile* write = nullptr;
};

Ends make(std::uint64_t flags = 0) {
  Ends ends;
  EXPECT_TRUE(fs::make_pipe(ends.read, ends.write, flags).has_value());
  return ends;
}

}  // namespace

TEST(Pipe, ReadsReturnWhatIsThereInOrder) {
  Ends ends = make();
  EXPECT_EQ(fs::write(*ends.write, bytes_of("hello ")).value(), 6u);
  EXPECT_EQ(fs::write(*ends.write, bytes_of("world")).value(), 5u);
  EXPECT_EQ(ends.read->pipe->readable_bytes(), 11u);
  EXPECT_EQ(read_string(*ends.read, 100), "hello world");  // less than asked: what was there
  std::byte one[1];
  EXPECT_EQ(fs::read(*ends.read, one).error(), uapi::Errno::eagain);  // empty, writer open
  fs::release(ends.read);
  fs::release(ends.write);
}

TEST(Pipe, EndsHaveTheirDirectionAndNoPosition) {
  Ends ends = make();
  std::byte one[1];
  EXPECT_EQ(fs::write(*ends.read, bytes_of("x")).error(), uapi::Errno::ebadf);
  EXPECT_EQ(fs::read(*ends.write, one).error(), uapi::Errno::ebadf);
  EXPECT_EQ(fs::lseek(*ends.read, 0, uapi::kSeekSet).error(), uapi::Errno::espipe);
  EXPECT_EQ(fs::pread(*ends.read, one, 0).error(), uapi::Errno::espipe);
  const uapi::Stat st = fs::stat_of(*ends.read->node);
  EXPECT_EQ(st.st_mode & uapi::kModeTypeMask, uapi::kModeFifo);
  fs::release(ends.read);
  fs::release(ends.write);
}

TEST(Pipe, TheLastWriterClosingIsEndOfFileAfterTheData) {
  Ends ends = make();
  fs::OpenFile* second_writer = fs::retain(ends.write);  // dup
  EXPECT_EQ(fs::write(*ends.write, bytes_of("bye")).value(), 3u);
  fs::release(ends.write);
  std::byte one[1];
  EXPECT_EQ(read_string(*ends.read, 2), "by");
  EXPECT_EQ(read_string(*ends.read, 2), "e");
  EXPECT_EQ(fs::read(*ends.read, one).error(), uapi::Errno::eagain);  // one writer is left
  fs::release(second_writer);
  EXPECT_EQ(fs::read(*ends.read, one).value(), 0u);  // end of file
  fs::release(ends.read);
}

TEST(Pipe, WritingWithNoReaderIsEpipe) {
  Ends ends = make();
  fs::release(ends.read);
  EXPECT_EQ(fs::write(*ends.write, bytes_of("lost")).error(), uapi::Errno::epipe);
  fs::release(ends.write);
}

TEST(Pipe, AFullPipeTakesOnlyWholeSmallWritesAndPartOfBigOnes) {
  Ends ends = make();
  const std::string big(fs::Pipe::kCapacity - 100, 'a');
  EXPECT_EQ(fs::write(*ends.write, bytes_of(big)).value(), big.size());
  // 100 bytes free: a 200-byte write (<= PIPE_BUF) is all or nothing...
  EXPECT_EQ(fs::write(*ends.write, bytes_of(std::string(200, 'b'))).error(), uapi::Errno::eagain);
  // ...a 5000-byte one (> PIPE_BUF) takes what fits.
  EXPECT_EQ(fs::write(*ends.write, bytes_of(std::string(5000, 'c'))).value(), 100u);
  EXPECT_EQ(ends.write->pipe->free_bytes(), 0u);
  EXPECT_EQ(fs::write(*ends.write, bytes_of("d")).error(), uapi::Errno::eagain);
  fs::release(ends.read);
  fs::release(ends.write);
}

TEST(Pipe, TheRingWrapsRoundWithoutLosingAByte) {
  Ends ends = make();
  std::string sent;
  std::string received;
  // Writes of 3000 and reads of 2000 walk the head and tail round the 64 KiB ring many times.
  for (int round = 0; round < 200; ++round) {
    std::string chunk(3000, static_cast<char>('A' + round % 26));
    chunk[0] = static_cast<char>('0' + round % 10);
    if (ends.write->pipe->free_bytes() >= chunk.size()) {
      EXPECT_EQ(fs::write(*ends.write, bytes_of(chunk)).value(), chunk.size());
      sent += chunk;
    }
    received += read_string(*ends.read, 2000);
  }
  while (ends.read->pipe->readable_bytes() > 0) received += read_string(*ends.read, 4096);
  EXPECT_EQ(received, sent);
  fs::release(ends.read);
  fs::release(ends.write);
}

// read(2) into a bad buffer: the bytes go back in front, in order, also across the ring's end.
TEST(Pipe, UnreadBytesComeBackFirst) {
  Ends ends = make();
  std::string filler(fs::Pipe::kCapacity - 2, 'f');
  EXPECT_EQ(fs::write(*ends.write, bytes_of(filler)).value(), filler.size());
  EXPECT_EQ(read_string(*ends.read, filler.size()), filler);  // the head is 2 bytes from the end
  EXPECT_EQ(fs::write(*ends.write, bytes_of("abcdef")).value(), 6u);
  std::byte four[4];
  EXPECT_EQ(fs::read(*ends.read, four).value(), 4u);  // "abcd", across the end
  fs::pipe_unread(*ends.read, four);
  EXPECT_EQ(ends.read->pipe->readable_bytes(), 6u);
  EXPECT_EQ(read_string(*ends.read, 100), "abcdef");
  EXPECT_FALSE(ends.read->pipe->unread(bytes_of(std::string(fs::Pipe::kCapacity + 1, 'x'))));
  fs::release(ends.read);
  fs::release(ends.write);
}

TEST(Pipe, TheFileKeepsONonblockAndTheTableKeepsOCloexec) {
  Ends ends = make(uapi::kOpenNonblock | uapi::kOpenCloexec);
  EXPECT_TRUE(ends.read->nonblocking());
  EXPECT_TRUE(ends.write->nonblocking());
  EXPECT_EQ(ends.read->flags & uapi::kOpenCloexec, 0u);
  fs::FdTable table;  // closing the table releases both ends: ASan sees the pipe freed once
  EXPECT_EQ(table.install(ends.read).value(), 0);
  EXPECT_EQ(table.install(ends.write).value(), 1);
}

TEST(Pipe, PollSaysWhatEachEndIsReadyFor) {
  Ends ends = make();
  constexpr std::uint32_t kIn = fs::kPollIn | fs::kPollRdnorm, kOut = fs::kPollOut | fs::kPollWrnorm;
  EXPECT_EQ(fs::poll_events(*ends.read), 0u);  // empty
  EXPECT_EQ(fs::poll_events(*ends.write), kOut);
  EXPECT_EQ(fs::write(*ends.write, bytes_of(std::string(fs::Pipe::kCapacity - 100, 'a'))).value(),
            fs::Pipe::kCapacity - 100);
  EXPECT_EQ(fs::poll_events(*ends.read), kIn);
  EXPECT_EQ(fs::poll_events(*ends.write), 0u);  // less than PIPE_BUF free
  fs::OpenFile* reader = ends.read;
  fs::release(ends.write);
  EXPECT_EQ(fs::poll_events(*reader), kIn | fs::kPollHup);  // data left, and no writer
  fs::release(reader);
}

TEST(Pipe, PollOnAWriteEndWithNoReaderIsAnError) {
  Ends ends = make();
  fs::release(ends.read);
  EXPECT_NE(fs::poll_events(*ends.write) & fs::kPollErr, 0u);
  fs::release(ends.write);
}
