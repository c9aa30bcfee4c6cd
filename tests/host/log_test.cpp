// Host tests for the kernel log's lock-free ring (kernel/lib/log.h): records in order, long
// messages split into continuation records, wrap-around that drops the oldest and counts it,
// and a stress test with several writer threads and one reader: no record torn or duplicated,
// and every record either read or counted as dropped. Also the console's flood guard
// (kernel/console/flood_guard.h), which decides how much of a flood of records is shown.
#include "lib/log.h"
#include "console/flood_guard.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace ferrite::log {
namespace {

template <std::size_t N>
struct TestRing {
  std::array<Slot, N> slots{};
  Ring ring{slots};
};

std::vector<Record> read_all(Reader& reader) {
  std::vector<Record> records;
  Record record;
  while (reader.next(record)) records.push_back(record);
  return records;
}

TEST(LogLevel, NamesRoundTrip) {
  for (Level level : {Level::debug, Level::info, Level::warn, Level::error}) {
    EXPECT_EQ(level_from_string(to_string(level)), level);
  }
  EXPECT_EQ(level_from_string("warning"), std::nullopt);
  EXPECT_EQ(level_from_string(""), std::nullopt);
  EXPECT_EQ(level_from_string("INFO"), std::nullopt);
}

TEST(LogRing, StartsEmpty) {
  TestRing<8> t;
  Reader reader(t.ring);
  Record record;
  EXPECT_FALSE(reader.pending());
  EXPECT_FALSE(reader.next(record));
  EXPECT_EQ(t.ring.head(), 0u);
  EXPECT_EQ(t.ring.read(0, record), Ring::ReadResult::not_yet);
}

TEST(LogRing, RecordsComeBackInOrderWithLevelTimestampAndText) {
  TestRing<8> t;
  EXPECT_TRUE(t.ring.append(Level::warn, 1234, "first"));
  EXPECT_TRUE(t.ring.append(Level::debug, 5678, ""));
  EXPECT_TRUE(t.ring.append(Level::error, 9, std::string(kSlotText, 'x')));
  Reader reader(t.ring);
  EXPECT_TRUE(reader.pending());
  const std::vector<Record> records = read_all(reader);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].sequence, 0u);
  EXPECT_EQ(records[0].level, Level::warn);
  EXPECT_EQ(records[0].timestamp_ns, 1234u);
  EXPECT_EQ(records[0].view(), "first");
  EXPECT_FALSE(records[0].continuation);
  EXPECT_EQ(records[1].view(), "");
  EXPECT_EQ(records[1].level, Level::debug);
  EXPECT_EQ(records[2].view(), std::string(kSlotText, 'x'));
  EXPECT_EQ(records[2].sequence, 2u);
  EXPECT_EQ(reader.dropped(), 0u);
  EXPECT_FALSE(reader.pending());
}

TEST(LogRing, AppendCutsTextAtOneSlot) {
  TestRing<4> t;
  t.ring.append(Level::info, 0, std::string(kSlotText + 10, 'y'));
  Record record;
  ASSERT_EQ(t.ring.read(0, record), Ring::ReadResult::ok);
  EXPECT_EQ(record.length, kSlotText);
}

TEST(LogRing, FullRingOverwritesTheOldestAndTheReaderCountsThem) {
  TestRing<8> t;
  for (int i = 0; i < 20; ++i) t.ring.append(Level::info, i, "record " + std::to_string(i));
  EXPECT_EQ(t.ring.head(), 20u);
  EXPECT_EQ(t.ring.oldest(), 12u);
  Record record;
  EXPECT_EQ(t.ring.read(3, record), Ring::ReadResult::overwritten);
  EXPECT_EQ(t.ring.read(11, record), Ring::ReadResult::overwritten);
  EXPECT_EQ(t.ring.read(20, record), Ring::ReadResult::not_yet);

  Reader reader(t.ring);
  const std::vector<Record> records = read_all(reader);
  ASSERT_EQ(records.size(), 8u);
  EXPECT_EQ(reader.dropped(), 12u);
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].sequence, 12 + i);
    EXPECT_EQ(records[i].view(), "record " + std::to_string(12 + i));
  }
  EXPECT_EQ(t.ring.lost_while_busy(), 0u);
}

TEST(LogRing, ReaderKeepsItsPlaceAcrossManyLaps) {
  TestRing<4> t;
  Reader reader(t.ring);
  std::uint64_t read = 0;
  for (int lap = 0; lap < 50; ++lap) {
    // Alternately fewer and more records than the ring holds between two reads.
    const int count = lap % 2 == 0 ? 3 : 7;
    for (int i = 0; i < count; ++i) t.ring.append(Level::info, 0, "r");
    read += read_all(reader).size();
    EXPECT_EQ(read + reader.dropped(), t.ring.head());
    EXPECT_EQ(reader.position(), t.ring.head());
  }
  EXPECT_EQ(reader.dropped(), 25u * 3);  // each 7-record lap loses 3 of a 4-slot ring
}

TEST(LogRing, TwoReadersReadIndependently) {
  TestRing<8> t;
  t.ring.append(Level::info, 0, "a");
  Reader early(t.ring);
  EXPECT_EQ(read_all(early).size(), 1u);
  t.ring.append(Level::info, 0, "b");
  Reader late(t.ring);
  EXPECT_EQ(read_all(late).size(), 2u);
  const std::vector<Record> rest = read_all(early);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].view(), "b");
}

TEST(LogRecordWriter, SplitsLongTextIntoContinuationRecords) {
  TestRing<8> t;
  std::string text;
  for (int i = 0; i < 300; ++i) text += static_cast<char>('a' + i % 26);
  {
    RecordWriter writer(t.ring, Level::warn, 42);
    // Written in uneven pieces, as the formatter hands them over.
    writer.write(std::string_view(text).substr(0, 5));
    writer.write(std::string_view(text).substr(5, 200));
    writer.write(std::string_view(text).substr(205));
  }
  Reader reader(t.ring);
  const std::vector<Record> records = read_all(reader);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_FALSE(records[0].continuation);
  EXPECT_TRUE(records[1].continuation);
  EXPECT_TRUE(records[2].continuation);
  std::string joined;
  for (const Record& r : records) {
    EXPECT_EQ(r.level, Level::warn);
    EXPECT_EQ(r.timestamp_ns, 42u);
    joined += r.view();
  }
  EXPECT_EQ(joined, text);
}

TEST(LogRecordWriter, FormatsIntoRecords) {
  TestRing<8> t;
  {
    RecordWriter writer(t.ring, Level::info, 0);
    fmt::format_to(writer, "{} frames at {:#x}\n", 3, 0x1000);
  }
  Record record;
  ASSERT_EQ(t.ring.read(0, record), Ring::ReadResult::ok);
  EXPECT_EQ(record.view(), "3 frames at 0x1000\n");
  EXPECT_EQ(t.ring.head(), 1u);
}

// The text of record `n` of writer `id`: its own numbers, then a pattern derived from them up to
// a length that varies with n, so a torn record (the words of two records mixed) is detected.
std::string stress_text(unsigned id, std::uint64_t n) {
  std::string text = std::to_string(id) + ":" + std::to_string(n) + ":";
  const std::size_t length = text.size() + (n * 7 + id) % (kSlotText - text.size() + 1);
  for (std::size_t i = text.size(); i < length; ++i) {
    text += static_cast<char>('A' + (id * 31 + n * 17 + i) % 26);
  }
  return text;
}

TEST(LogRingStress, ManyWritersOneReaderNoTornOrDuplicateRecordsAndExactDropCounts) {
  constexpr unsigned kWriters = 4;
  constexpr std::uint64_t kPerWriter = 100'000;
  static TestRing<64> t;  // small, so the ring laps the reader often
  std::atomic<unsigned> running{kWriters};
  std::atomic<std::uint64_t> refused{0};

  std::vector<std::thread> writers;
  for (unsigned id = 0; id < kWriters; ++id) {
    writers.emplace_back([&, id] {
      std::uint64_t my_refused = 0;
      for (std::uint64_t n = 0; n < kPerWriter; ++n) {
        if (!t.ring.append(static_cast<Level>(id % 4), id * kPerWriter + n, stress_text(id, n))) {
          ++my_refused;
        }
      }
      refused.fetch_add(my_refused);
      running.fetch_sub(1);
    });
  }

  Reader reader(t.ring);
  std::vector<std::int64_t> last_seen(kWriters, -1);
  std::uint64_t read = 0, bad = 0, out_of_order = 0;
  Record record;
  const auto consume = [&] {
    while (reader.next(record)) {
      ++read;
      const std::string text(record.view());
      unsigned id = 0;
      unsigned long long n = 0;
      if (std::sscanf(text.c_str(), "%u:%llu:", &id, &n) != 2 || id >= kWriters ||
          text != stress_text(id, n) || record.level != static_cast<Level>(id % 4) ||
          record.timestamp_ns != id * kPerWriter + n) {
        ++bad;
        continue;
      }
      // Each writer's records appear in the order it wrote them, each at most once.
      if (static_cast<std::int64_t>(n) <= last_seen[id]) ++out_of_order;
      last_seen[id] = static_cast<std::int64_t>(n);
    }
  };
  while (running.load() > 0) consume();
  for (auto& w : writers) w.join();
  consume();

  EXPECT_EQ(bad, 0u) << "torn or corrupted records";
  EXPECT_EQ(out_of_order, 0u) << "duplicated or reordered records";
  // Every record that got a number was either read or counted as dropped by the reader; every
  // append either got a number or was refused and counted by the ring.
  EXPECT_EQ(read + reader.dropped(), t.ring.head());
  EXPECT_EQ(t.ring.head() + t.ring.lost_while_busy(), kWriters * kPerWriter);
  EXPECT_EQ(refused.load(), t.ring.lost_while_busy());
  EXPECT_GT(read, 0u);
  EXPECT_GT(reader.dropped(), 0u) << "the stress test should have lapped the reader";
}

}  // namespace
}  // namespace ferrite::log

// Console output that waits in the log keeps its mark through the ring (the console never
// leaves it out of a flood), continuation records included; other records do not carry it.
TEST(LogConsoleMark, SurvivesTheRingAndContinuations) {
  static std::array<ferrite::log::Slot, 8> slots{};
  ferrite::log::Ring ring{slots};
  {
    ferrite::log::RecordWriter console(ring, ferrite::log::Level::info, 5, /*console=*/true);
    console.write(std::string(200, 'c'));  // two records
  }
  ring.append(ferrite::log::Level::warn, 6, "an NMI report");
  ferrite::log::Reader reader(ring);
  ferrite::log::Record record;
  ASSERT_TRUE(reader.next(record));
  EXPECT_TRUE(record.console);
  EXPECT_FALSE(record.continuation);
  ASSERT_TRUE(reader.next(record));
  EXPECT_TRUE(record.console);
  EXPECT_TRUE(record.continuation);
  ASSERT_TRUE(reader.next(record));
  EXPECT_FALSE(record.console);
  EXPECT_EQ(record.view(), "an NMI report");
}

// ---- The console's flood guard (kernel/console/flood_guard.h): how much of a flood it shows.

namespace flood_guard_tests {

using ferrite::console::FloodGuard;
constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kSecond = 1000 * kMs;

// Messages one every `gap_ns` from `start`, `count` of them, each taking `cost_ns` to show;
// returns how many were shown.
std::uint64_t show(FloodGuard& guard, std::uint64_t start, std::uint64_t gap_ns, int count,
                   std::uint64_t cost_ns) {
  std::uint64_t shown = 0;
  for (int i = 0; i < count; ++i) {
    if (guard.admit(start + static_cast<std::uint64_t>(i) * gap_ns)) {
      guard.charge(cost_ns);
      ++shown;
    }
  }
  return shown;
}

TEST(FloodGuard, ShowsEverythingBeforeTheClockRuns) {
  FloodGuard guard;
  EXPECT_EQ(show(guard, 0, 0, 1000, 5 * kMs), 1000u);
  EXPECT_EQ(guard.left_out(), 0u);
}

TEST(FloodGuard, ShowsABurstThenATenthOfTheTime) {
  FloodGuard guard;
  // An NMI storm: a report every millisecond for 10 s, each taking 5 ms to show (a dozen lines
  // scrolled on a framebuffer): showing them all would take 50 s of CPU.
  const std::uint64_t shown = show(guard, kSecond, kMs, 10'000, 5 * kMs);
  // The burst (200 ms: 40 reports) plus a tenth of 10 s (1 s: 200 reports).
  EXPECT_GE(shown, 238u);
  EXPECT_LE(shown, 242u);
  EXPECT_EQ(guard.take_left_out(), 10'000 - shown);
  EXPECT_EQ(guard.left_out(), 0u);  // taken: counting starts over
}

TEST(FloodGuard, OrdinaryMessagesAreNeverLeftOut) {
  FloodGuard guard;
  // A busy kernel: a message every 10 ms that takes 0.5 ms to show (5% of the CPU), for a minute.
  EXPECT_EQ(show(guard, kSecond, 10 * kMs, 6000, kMs / 2), 6000u);
}

TEST(FloodGuard, CreditComesBackAfterAQuietSpellButNoMoreThanTheBurst) {
  FloodGuard guard;
  show(guard, kSecond, kMs, 5000, 5 * kMs);  // drained
  EXPECT_FALSE(guard.has_credit(6 * kSecond));
  // An hour of quiet earns no more than the burst: 200 ms of showing.
  const std::uint64_t shown = show(guard, 3600 * kSecond, 0, 1000, 5 * kMs);  // all at once
  EXPECT_EQ(shown, FloodGuard::kBurstNs / (5 * kMs));
}

TEST(FloodGuard, AClockThatStepsBackEarnsNothing) {
  FloodGuard guard;
  show(guard, 10 * kSecond, 0, 100, 5 * kMs);  // drained at t = 10 s
  EXPECT_FALSE(guard.admit(9 * kSecond));      // a record stamped earlier (an NMI's writer)
  EXPECT_FALSE(guard.admit(10 * kSecond));
  EXPECT_TRUE(guard.admit(11 * kSecond));  // a second pays for 100 ms of showing
}

}  // namespace flood_guard_tests
