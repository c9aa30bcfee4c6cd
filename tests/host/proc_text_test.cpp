// Host tests of proc/proc_text: the text of /proc's files, checked against the formats Linux
// writes (fs/proc/array.c, meminfo.c, uptime.c, proc_namespace.c; proc(5)) and read back the way
// busybox's procps parses them (libbb/procps.c: strrchr(')'), then sscanf by position).
#include "proc/proc_text.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace text = ferrite::proc::text;

namespace {

struct StringSink final : ferrite::fmt::Sink {
  std::string text;
  void write(std::string_view part) override { text.append(part); }
};

std::vector<std::string> fields_after_comm(const std::string& line) {
  const std::size_t close = line.rfind(')');
  std::istringstream in(line.substr(close + 2));
  std::vector<std::string> fields;
  for (std::string field; in >> field;) fields.push_back(field);
  return fields;
}

text::ProcessStat a_shell() {
  text::ProcessStat p;
  p.pid = 7;
  p.comm = "sh";
  p.state = 'S';
  p.ppid = 1;
  p.pgrp = 7;
  p.session = 7;
  p.tty_nr = text::encode_tty(5, 1);
  p.tpgid = 9;
  p.minor_faults = 301;
  p.children_minor_faults = 302;
  p.utime_ticks = 12;
  p.stime_ticks = 34;
  p.cutime_ticks = 78;
  p.cstime_ticks = 90;
  p.start_ticks = 56;
  p.vsize_bytes = 10543104;
  p.rss_pages = 498;
  p.signals_blocked = 1u << 16;                  // SIGCHLD (17)
  p.signals_ignored = (1u << 2) | (1ull << 40);  // SIGQUIT, and a real-time one stat leaves out
  p.signals_caught = 1u << 1;                    // SIGINT
  return p;
}

}  // namespace

TEST(ProcStat, HasTheFiftyTwoFieldsOfProcFiveInOrder) {
  StringSink out;
  text::write_stat(out, a_shell());
  EXPECT_EQ(out.text,
            "7 (sh) S 1 7 7 1281 9 0 301 302 0 0 12 34 78 90 20 0 1 0 56 10543104 498 "
            "18446744073709551615 0 0 0 0 0 0 65536 4 2 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
  // Field 1 and 2, then 50 more: 52 in all, as proc(5) lists them for Linux 3.5 and later.
  EXPECT_EQ(fields_after_comm(out.text).size(), 50u);
}

TEST(ProcStat, ReadsBackAsBusyboxParsesIt) {
  text::ProcessStat p = a_shell();
  p.comm = "a) b (c";  // a name with parentheses: only the last ')' ends it
  StringSink out;
  text::write_stat(out, p);
  const std::string& line = out.text;
  const char* rest = std::strrchr(line.c_str(), ')');
  ASSERT_NE(rest, nullptr);
  char state[2] = {};
  unsigned ppid = 0, pgid = 0, sid = 0;
  int tty = 0;
  unsigned long utime = 0, stime = 0, start_time = 0, vsize = 0, rss = 0;
  long nice = -1;
  // busybox 1.35's procps_scan format, field for field.
  const int n = std::sscanf(rest + 2,
                            "%c %u %u %u %d %*s %*s %*s %*s %*s %*s %lu %lu %*s %*s %*s %ld %*s "
                            "%*s %lu %lu %lu",
                            state, &ppid, &pgid, &sid, &tty, &utime, &stime, &nice, &start_time,
                            &vsize, &rss);
  EXPECT_EQ(n, 11);
  EXPECT_EQ(state[0], 'S');
  EXPECT_EQ(ppid, 1u);
  EXPECT_EQ(pgid, 7u);
  EXPECT_EQ(sid, 7u);
  EXPECT_EQ((tty >> 8) & 0xfff, 5);  // busybox's tty_major
  EXPECT_EQ(tty & 0xff, 1);          // and tty_minor
  EXPECT_EQ(utime, 12u);
  EXPECT_EQ(stime, 34u);
  EXPECT_EQ(nice, 0);
  EXPECT_EQ(start_time, 56u);
  EXPECT_EQ(vsize, 10543104u);
  EXPECT_EQ(rss, 498u);
  EXPECT_EQ(line.substr(0, line.rfind(')') + 4), "7 (a) b (c) S ");
}

TEST(ProcStat, CutsTheNameToFifteenBytesAsTaskCommLen) {
  text::ProcessStat p = a_shell();
  p.comm = "a_very_long_program_name";
  StringSink out;
  text::write_stat(out, p);
  EXPECT_EQ(out.text.substr(0, 23), "7 (a_very_long_pro) S 1");
  StringSink status;
  text::write_status(status, p);
  EXPECT_EQ(status.text.substr(0, 24), "Name:\ta_very_long_pro\nUm");
}

TEST(ProcStat, EncodesTtyNumbersAsNewEncodeDev) {
  EXPECT_EQ(text::encode_tty(5, 1), 0x501u);
  EXPECT_EQ(text::encode_tty(4, 64), 0x440u);
  EXPECT_EQ(text::encode_tty(136, 300), (300u & 0xff) | (136u << 8) | ((300u & ~0xffu) << 12));
}

TEST(ProcStatus, NamesEachLineAsLinuxDoes) {
  text::ProcessStat p = a_shell();
  p.umask = 027;
  StringSink out;
  text::write_status(out, p);
  EXPECT_EQ(out.text,
            "Name:\tsh\nUmask:\t0027\nState:\tS (sleeping)\nTgid:\t7\nNgid:\t0\nPid:\t7\nPPid:\t1\n"
            "TracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t\n"
            "NStgid:\t7\nNSpid:\t7\nNSpgid:\t7\nNSsid:\t7\n"
            "VmSize:\t   10296 kB\nVmRSS:\t    1992 kB\nThreads:\t1\n"
            "SigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000010000\n"
            "SigIgn:\t0000010000000004\nSigCgt:\t0000000000000002\n");
  EXPECT_EQ(text::state_name('Z'), "Z (zombie)");
  EXPECT_EQ(text::state_name('T'), "T (stopped)");
  EXPECT_EQ(text::state_name('R'), "R (running)");
}

TEST(ProcMeminfo, PadsNamesToSixteenAndValuesToEightColumnsInKilobytes) {
  StringSink out;
  text::write_meminfo(out, {.total_bytes = 125376 * 1024ull,
                            .free_bytes = 120832 * 1024ull + 1023,  // whole kB only
                            .shmem_bytes = 8 * 1024,
                            .kernel_heap_bytes = 182 * 1024});
  EXPECT_EQ(out.text,
            "MemTotal:         125376 kB\n"
            "MemFree:          120832 kB\n"
            "MemAvailable:     120832 kB\n"
            "Buffers:               0 kB\n"
            "Cached:                8 kB\n"
            "SwapCached:            0 kB\n"
            "SwapTotal:             0 kB\n"
            "SwapFree:              0 kB\n"
            "Shmem:                 8 kB\n"
            "Slab:                182 kB\n"
            "SReclaimable:          0 kB\n"
            "SUnreclaim:          182 kB\n");
  // busybox free's parse_meminfo: sscanf(buf, "MemAvailable: %lu %*s\n", ...) on each line.
  unsigned long available = 0;
  const std::size_t at = out.text.find("MemAvailable:");
  EXPECT_EQ(std::sscanf(out.text.c_str() + at, "MemAvailable: %lu %*s\n", &available), 1);
  EXPECT_EQ(available, 120832u);
}

TEST(ProcUptime, GivesSecondsWithTwoDecimals) {
  StringSink out;
  text::write_uptime(out, 6'480'000'000, 0);
  text::write_uptime(out, 3'605'059'999'999, 1'000'000);
  EXPECT_EQ(out.text, "6.48 0.00\n3605.05 0.00\n");
}

TEST(ProcMounts, WritesFstabFieldsWithZeroDumpAndPass) {
  const text::Mount mounts[] = {{"rootfs", "/", "rootfs", "ro"},
                                {"tmpfs", "/tmp", "tmpfs", "rw,relatime"}};
  StringSink out;
  text::write_mounts(out, mounts);
  EXPECT_EQ(out.text, "rootfs / rootfs ro 0 0\ntmpfs /tmp tmpfs rw,relatime 0 0\n");
}

TEST(ProcCmdline, EndsEachArgumentWithANulAndCutsToTheBuffer) {
  const std::string_view argv[] = {"ls", "-l", "/proc"};
  char out[16];
  std::memset(out, 'x', sizeof(out));
  const std::size_t length = text::join_arguments(argv, out);
  EXPECT_EQ(std::string(out, length), std::string("ls\0-l\0/proc\0", 12));
  char small[5];
  EXPECT_EQ(std::string(small, text::join_arguments(argv, small)), std::string("ls\0-l", 5));
  char exact[3];
  EXPECT_EQ(std::string(exact, text::join_arguments(argv, exact)), std::string("ls\0", 3));
  EXPECT_EQ(text::join_arguments({}, out), 0u);
}

TEST(ProcBufferSink, GrowsWithTheTextAndKeepsItWhole) {
  ferrite::lib::ByteBuffer buffer;
  text::BufferSink sink(buffer);
  text::write_stat(sink, a_shell());
  ASSERT_TRUE(sink.result().has_value());
  StringSink expected;
  text::write_stat(expected, a_shell());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buffer.data()), buffer.size()),
            expected.text);
}
