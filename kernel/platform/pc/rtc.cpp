// Reading the CMOS real-time clock (see rtc.h). Register numbers and status bits are the
// MC146818's: 0x00 seconds, 0x02 minutes, 0x04 hours, 0x07 day, 0x08 month, 0x09 year,
// 0x0A status A (bit 7: update in progress), 0x0B status B (bit 2: binary, not BCD; bit 1:
// 24-hour). The century register (0x32) is not standard; a two-digit year is taken as 20xx.
#include "platform/pc/rtc.h"

#include "arch/x86_64/cpu.h"
#include "sync/spinlock.h"

namespace ferrite::pc::rtc {

namespace {

constexpr std::uint16_t kIndexPort = 0x70, kDataPort = 0x71;
constexpr std::uint8_t kStatusA = 0x0A, kStatusB = 0x0B;
constexpr std::uint8_t kUpdateInProgress = 0x80, kBinary = 0x04, kTwentyFourHour = 0x02;
constexpr std::uint8_t kPm = 0x80;  // in the hours register, in 12-hour mode

std::uint8_t read_register(std::uint8_t index) {
  arch::outb(kIndexPort, index);
  return arch::inb(kDataPort);
}

struct Raw {
  std::uint8_t second, minute, hour, day, month, year;
  bool operator==(const Raw&) const = default;
};

Raw read_raw() {
  while ((read_register(kStatusA) & kUpdateInProgress) != 0) {
  }
  return {read_register(0x00), read_register(0x02), read_register(0x04),
          read_register(0x07), read_register(0x08), read_register(0x09)};
}

constexpr std::uint32_t from_bcd(std::uint8_t value) {
  return (value >> 4) * 10u + (value & 0x0F);
}

}  // namespace

std::optional<DateTime> read() {
  Raw raw{}, again{};
  std::uint8_t status_b = 0;
  {
    sync::InterruptGuard no_interrupts;  // the index port must not change between our accesses
    again = read_raw();
    do {
      raw = again;
      again = read_raw();
    } while (!(raw == again));
    status_b = read_register(kStatusB);
  }
  const bool binary = (status_b & kBinary) != 0;
  const auto value = [binary](std::uint8_t v) { return binary ? std::uint32_t{v} : from_bcd(v); };
  const bool pm = (status_b & kTwentyFourHour) == 0 && (raw.hour & kPm) != 0;
  DateTime t{2000 + value(raw.year), value(raw.month),
             value(raw.day),         value(static_cast<std::uint8_t>(raw.hour & ~kPm)),
             value(raw.minute),      value(raw.second)};
  if (pm) t.hour = t.hour % 12 + 12;
  if ((status_b & kTwentyFourHour) == 0 && !pm && t.hour == 12) t.hour = 0;  // 12 AM is 00
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 || t.hour > 23 || t.minute > 59 ||
      t.second > 60) {
    return std::nullopt;
  }
  return t;
}

}  // namespace ferrite::pc::rtc
