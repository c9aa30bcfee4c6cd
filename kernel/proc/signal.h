// The signals a program can die of in chapter 14, with Linux's numbers (<asm/signal.h>), and
// which one each CPU exception from user mode means — the choices of Linux's arch/x86/kernel/
// traps.c: a divide error or SIMD/x87 error is SIGFPE, an invalid opcode SIGILL, a page fault or
// general protection fault SIGSEGV, an alignment or stack-segment fault SIGBUS. Delivery to
// handlers comes in chapter 15; here a signal ends the program and names the reason.
#pragma once

#include <cstdint>
#include <string_view>

#include "arch/x86_64/exceptions.h"

namespace ferrite::proc {

enum Signal : std::int32_t {
  kSigIll = 4, kSigTrap = 5, kSigBus = 7, kSigFpe = 8, kSigKill = 9, kSigSegv = 11,
};

constexpr std::string_view signal_name(std::int32_t signal) {
  switch (signal) {
    case kSigIll: return "SIGILL";
    case kSigTrap: return "SIGTRAP";
    case kSigBus: return "SIGBUS";
    case kSigFpe: return "SIGFPE";
    case kSigKill: return "SIGKILL";
    case kSigSegv: return "SIGSEGV";
    default: return "signal ?";
  }
}

constexpr Signal signal_for_exception(std::uint8_t vector) {
  switch (vector) {
    case arch::kDivideErrorVector: return kSigFpe;
    case 1:                                      // #DB
    case arch::kBreakpointVector: return kSigTrap;
    case arch::kInvalidOpcodeVector: return kSigIll;
    case 12: return kSigBus;                     // #SS
    case 16: return kSigFpe;                     // #MF: x87 error
    case arch::kAlignmentCheckVector: return kSigBus;
    case 19: return kSigFpe;                     // #XM: SIMD floating-point error
    default: return kSigSegv;                    // #GP, #PF and anything unexpected
  }
}

// Linux's wait status (<bits/waitstatus.h>): exit(n) is n << 8, death by signal s is s.
constexpr std::int32_t exit_wait_status(std::int32_t code) { return (code & 0xFF) << 8; }
constexpr bool exited_normally(std::int32_t status) { return (status & 0x7F) == 0; }
constexpr std::int32_t exit_code_of(std::int32_t status) { return (status >> 8) & 0xFF; }
constexpr std::int32_t signal_of(std::int32_t status) { return status & 0x7F; }

}  // namespace ferrite::proc
