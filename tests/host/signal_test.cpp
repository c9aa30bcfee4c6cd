// Chapter 15's portable signal logic: the signal frame's Linux layout and placement
// (arch/x86_64/signal_frame.h), checked against the host's own <signal.h>/<ucontext.h> where
// they describe the same bytes, and a process's SignalState (proc/signal.h): posting, blocking,
// delivery order, actions.
#include "arch/x86_64/signal_frame.h"
#include "proc/process_groups.h"
#include "proc/signal.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/ucontext.h>

#include <cstddef>
#include <cstring>

namespace {

using namespace ferrite;

TEST(SignalFrame, SigcontextMatchesTheHostsMcontext) {
  // glibc's mcontext_t: gregs[23] in the same order, then the fpregs pointer.
  EXPECT_EQ(offsetof(arch::SigContext, r8), sizeof(greg_t) * REG_R8);
  EXPECT_EQ(offsetof(arch::SigContext, rdi), sizeof(greg_t) * REG_RDI);
  EXPECT_EQ(offsetof(arch::SigContext, rsp), sizeof(greg_t) * REG_RSP);
  EXPECT_EQ(offsetof(arch::SigContext, rip), sizeof(greg_t) * REG_RIP);
  EXPECT_EQ(offsetof(arch::SigContext, eflags), sizeof(greg_t) * REG_EFL);
  EXPECT_EQ(offsetof(arch::SigContext, cs), sizeof(greg_t) * REG_CSGSFS);
  EXPECT_EQ(offsetof(arch::SigContext, err), sizeof(greg_t) * REG_ERR);
  EXPECT_EQ(offsetof(arch::SigContext, trapno), sizeof(greg_t) * REG_TRAPNO);
  EXPECT_EQ(offsetof(arch::SigContext, oldmask), sizeof(greg_t) * REG_OLDMASK);
  EXPECT_EQ(offsetof(arch::SigContext, cr2), sizeof(greg_t) * REG_CR2);
  EXPECT_EQ(offsetof(arch::SigContext, fpstate), offsetof(mcontext_t, fpregs));
  // ucontext_t up to uc_sigmask is the kernel's struct ucontext.
  EXPECT_EQ(offsetof(arch::UContext, mcontext), offsetof(ucontext_t, uc_mcontext));
  EXPECT_EQ(offsetof(arch::UContext, stack), offsetof(ucontext_t, uc_stack));
  EXPECT_EQ(offsetof(arch::UContext, sigmask), offsetof(ucontext_t, uc_sigmask));
  EXPECT_EQ(sizeof(arch::SigInfo), sizeof(siginfo_t));
  EXPECT_EQ(offsetof(arch::SigInfo, pid), offsetof(siginfo_t, si_pid));
  EXPECT_EQ(offsetof(arch::SigInfo, uid), offsetof(siginfo_t, si_uid));
  EXPECT_EQ(offsetof(arch::SigInfo, status), offsetof(siginfo_t, si_status));
  EXPECT_EQ(offsetof(arch::SigInfo, utime), offsetof(siginfo_t, si_utime));
  EXPECT_EQ(offsetof(arch::SigInfo, stime), offsetof(siginfo_t, si_stime));
  EXPECT_EQ(sizeof(arch::SignalStack), sizeof(stack_t));
  EXPECT_EQ(offsetof(arch::SignalStack, size), offsetof(stack_t, ss_size));
}

TEST(SignalFrame, PlacementAlignsAndSkipsTheRedZone) {
  for (std::uint64_t rsp = 0x7fff'ffff'e000; rsp < 0x7fff'ffff'e000 + 64; rsp += 8) {
    for (std::uint64_t fpu : {512u, 580u, 836u}) {
      const arch::SignalFrameLayout l = arch::signal_frame_layout(rsp, fpu);
      EXPECT_EQ(l.fpstate % 64, 0u);
      EXPECT_LE(l.fpstate + fpu, rsp - arch::kRedZoneBytes);  // the red zone is untouched
      EXPECT_EQ(l.frame % 16, 8u);                            // as after a call
      EXPECT_LE(l.frame + sizeof(arch::RtSigframe), l.fpstate);
    }
  }
}

TEST(SignalFrame, ReturnValidation) {
  EXPECT_TRUE(arch::user_address_ok(0x401000));
  EXPECT_FALSE(arch::user_address_ok(0x0000'8000'0000'0000));  // non-canonical / kernel half
  EXPECT_FALSE(arch::user_address_ok(0xffff'ffff'8000'1000));
  // IF and IOPL are the kernel's; the arithmetic flags and DF are the program's.
  EXPECT_EQ(arch::restored_rflags(0x202, 0x3000 | 0x400 | 0x1), 0x202u | 0x400 | 0x1);
  EXPECT_EQ(arch::restored_rflags(0x202, 0), 0x202u);
}

TEST(SignalState, PostBlockTakeInOrder) {
  proc::SignalState s;
  EXPECT_TRUE(s.post(proc::kSigTerm));
  EXPECT_TRUE(s.post(proc::kSigInt));
  EXPECT_FALSE(s.post(0));
  EXPECT_FALSE(s.post(65));
  s.block(proc::signal_bit(proc::kSigInt) | proc::kUnblockableSignals);
  EXPECT_EQ(s.blocked, proc::signal_bit(proc::kSigInt));  // SIGKILL/SIGSTOP never blocked
  EXPECT_EQ(s.take_next(), proc::kSigTerm);
  EXPECT_EQ(s.take_next(), 0);  // SIGINT waits while blocked
  s.unblock(proc::signal_bit(proc::kSigInt));
  EXPECT_EQ(s.take_next(), proc::kSigInt);
  EXPECT_EQ(s.pending, 0u);
  s.set_blocked(~0ull);
  EXPECT_EQ(s.blocked, ~0ull & ~proc::kUnblockableSignals);
}

TEST(SignalState, IgnoredSignalsAreDropped) {
  proc::SignalState s;
  EXPECT_FALSE(s.post(proc::kSigChld));   // default: ignore
  EXPECT_FALSE(s.post(proc::kSigWinch));
  EXPECT_TRUE(s.post(proc::kSigPipe));    // default: terminate
  EXPECT_TRUE(s.set_action(proc::kSigPipe, {proc::kSigIgn, 0, 0, 0}));
  EXPECT_EQ(s.pending, 0u);               // becoming ignored discards it
  EXPECT_FALSE(s.post(proc::kSigPipe));
  s.block(proc::signal_bit(proc::kSigChld));
  EXPECT_TRUE(s.post(proc::kSigChld));    // blocked: kept, the action may change before unblock
  EXPECT_FALSE(s.set_action(proc::kSigKill, {proc::kSigIgn, 0, 0, 0}));
  EXPECT_FALSE(s.set_action(proc::kSigStop, {0x1000, 0, 0, 0}));
  EXPECT_TRUE(s.set_action(proc::kSigUsr1, {0x1000, proc::kSaRestorer, 0x2000, ~0ull}));
  EXPECT_EQ(s.action(proc::kSigUsr1).mask, ~0ull & ~proc::kUnblockableSignals);
}

TEST(SignalInfo, KillAndTkillSayWhoSent) {
  const arch::SigInfo kill = proc::linux_siginfo(proc::kSigUsr1, proc::sent_by(42, false));
  EXPECT_EQ(kill.signo, SIGUSR1);
  EXPECT_EQ(kill.code, SI_USER);
  EXPECT_EQ(kill.pid, 42);
  EXPECT_EQ(kill.status, 0);
  const arch::SigInfo tkill = proc::linux_siginfo(proc::kSigUsr1, proc::sent_by(42, true));
  EXPECT_EQ(tkill.code, SI_TKILL);
  EXPECT_EQ(tkill.pid, 42);
}

// The terminal's Ctrl+C (and the kernel shell's) is SI_KERNEL with no sender, as Linux's
// kill_pgrp(..., 1) sends it.
TEST(SignalInfo, TheTerminalsSignalsComeFromTheKernel) {
  const arch::SigInfo interrupt = proc::linux_siginfo(proc::kSigInt, proc::kRaisedByKernel);
  EXPECT_EQ(interrupt.signo, SIGINT);
  EXPECT_EQ(interrupt.code, SI_KERNEL);
  EXPECT_EQ(interrupt.pid, 0);
}

// A caught fault's siginfo, as Linux's force_sig_fault fills it: si_addr (offset 16, where
// si_pid/si_uid lie) is the whole 64-bit address.
TEST(SignalInfo, AFaultSaysWhatAndWhere) {
  const std::uint64_t address = 0x7fff'1234'5678;
  arch::SigInfo out = proc::linux_siginfo(
      proc::kSigSegv, proc::fault_siginfo(arch::kPageFaultVector, false, address));
  siginfo_t host{};
  static_assert(sizeof host == sizeof out);
  std::memcpy(&host, &out, sizeof out);
  EXPECT_EQ(host.si_code, SEGV_MAPERR);
  EXPECT_EQ(reinterpret_cast<std::uint64_t>(host.si_addr), address);
  out = proc::linux_siginfo(proc::kSigSegv, proc::fault_siginfo(arch::kPageFaultVector, true, 8));
  std::memcpy(&host, &out, sizeof out);
  EXPECT_EQ(host.si_code, SEGV_ACCERR);
  EXPECT_EQ(reinterpret_cast<std::uint64_t>(host.si_addr), 8u);
  EXPECT_EQ(proc::fault_siginfo(arch::kInvalidOpcodeVector, false, 0x401000).code, ILL_ILLOPN);
  EXPECT_EQ(proc::fault_siginfo(arch::kDivideErrorVector, false, 0x401000).code, FPE_INTDIV);
  EXPECT_EQ(proc::fault_siginfo(arch::kGeneralProtectionVector, false, 0x401000).code, SI_KERNEL);
}

TEST(SignalInfo, SigchldCarriesHowTheChildEnded) {
  const arch::SigInfo exited =
      proc::linux_siginfo(proc::kSigChld, proc::child_ended(7, proc::exit_wait_status(3)));
  EXPECT_EQ(exited.code, CLD_EXITED);
  EXPECT_EQ(exited.status, 3);
  EXPECT_EQ(exited.pid, 7);
  const arch::SigInfo killed = proc::linux_siginfo(proc::kSigChld, proc::child_ended(8, SIGKILL));
  EXPECT_EQ(killed.code, CLD_KILLED);
  EXPECT_EQ(killed.status, SIGKILL);
  EXPECT_EQ(proc::child_ended(9, SIGSEGV | 0x80).code, CLD_DUMPED);
  // Read back through libc's own siginfo_t, as a handler would.
  siginfo_t libc;
  static_assert(sizeof libc == sizeof exited);
  std::memcpy(&libc, &exited, sizeof libc);
  EXPECT_EQ(libc.si_code, CLD_EXITED);
  EXPECT_EQ(libc.si_status, 3);
  EXPECT_EQ(libc.si_pid, 7);
}

TEST(SignalState, APendingSignalKeepsItsFirstSiginfo) {
  proc::SignalState s;
  s.block(proc::signal_bit(proc::kSigUsr1));
  EXPECT_TRUE(s.post(proc::kSigUsr1, proc::sent_by(5, false)));
  EXPECT_TRUE(s.post(proc::kSigUsr1, proc::sent_by(6, true)));  // merged: dropped
  s.unblock(proc::signal_bit(proc::kSigUsr1));
  proc::SignalInfo info;
  EXPECT_EQ(s.take_next(&info), proc::kSigUsr1);
  EXPECT_EQ(info.pid, 5);
  EXPECT_EQ(info.code, proc::kSiUser);
  EXPECT_TRUE(s.post(proc::kSigUsr1, proc::sent_by(6, true)));  // taken: a new one queues
  EXPECT_EQ(s.take_next(&info), proc::kSigUsr1);
  EXPECT_EQ(info.pid, 6);
  EXPECT_EQ(info.code, proc::kSiTkill);
}

TEST(SignalState, AutoreapOnlyForSigIgnOrNocldwait) {
  EXPECT_FALSE(proc::reaps_children_itself({proc::kSigDfl, 0, 0, 0}));  // default ignores, keeps zombies
  EXPECT_TRUE(proc::reaps_children_itself({proc::kSigIgn, 0, 0, 0}));
  EXPECT_TRUE(proc::reaps_children_itself({0x1000, proc::kSaNocldwait | proc::kSaRestorer, 0, 0}));
  EXPECT_FALSE(proc::reaps_children_itself({0x1000, proc::kSaRestorer, 0, 0}));
}

TEST(SignalState, DefaultActions) {
  EXPECT_EQ(proc::default_action(proc::kSigInt), proc::DefaultAction::terminate);
  EXPECT_EQ(proc::default_action(proc::kSigPipe), proc::DefaultAction::terminate);
  EXPECT_EQ(proc::default_action(proc::kSigSegv), proc::DefaultAction::core_dump);
  EXPECT_EQ(proc::default_action(proc::kSigChld), proc::DefaultAction::ignore);
  EXPECT_EQ(proc::default_action(proc::kSigUrg), proc::DefaultAction::ignore);
  EXPECT_EQ(proc::default_action(proc::kSigTstp), proc::DefaultAction::stop);
  EXPECT_EQ(proc::default_action(proc::kSigCont), proc::DefaultAction::resume);
  EXPECT_EQ(proc::default_action(40), proc::DefaultAction::terminate);  // real-time
  EXPECT_EQ(proc::signal_name(proc::kSigAlrm), "SIGALRM");
}

// signal(7)'s table for a blocking call a signal interrupted, as Linux's handle_signal and
// arch_do_signal_or_restart apply it.
TEST(SignalRestart, DecisionTable) {
  using proc::restart_after_signal;
  // read/write/wait4 (ERESTARTSYS): restarted with SA_RESTART or with no handler, else EINTR.
  EXPECT_TRUE(restart_after_signal(proc::kErestartsys, true, true));
  EXPECT_FALSE(restart_after_signal(proc::kErestartsys, true, false));
  EXPECT_TRUE(restart_after_signal(proc::kErestartsys, false, false));
  // pause/sigsuspend/select/ppoll (ERESTARTNOHAND), nanosleep/poll (ERESTART_RESTARTBLOCK):
  // never restarted after a handler, even with SA_RESTART; transparently without one.
  for (const std::int64_t code : {proc::kErestartnohand, proc::kErestartRestartblock}) {
    EXPECT_FALSE(restart_after_signal(code, true, true));
    EXPECT_FALSE(restart_after_signal(code, true, false));
    EXPECT_TRUE(restart_after_signal(code, false, false));
  }
  EXPECT_TRUE(restart_after_signal(proc::kErestartnointr, true, false));
  EXPECT_TRUE(proc::is_restart_code(512) && proc::is_restart_code(516));
  EXPECT_FALSE(proc::is_restart_code(4) || proc::is_restart_code(515));
}

// ppoll/pselect6's mask: in force during the call; back at once when the call ends normally,
// kept for the handler's frame when a signal interrupted it.
TEST(SignalState, TemporaryMaskComesBack) {
  proc::SignalState state;
  state.block(proc::signal_bit(proc::kSigInt));
  state.begin_temporary_mask(proc::signal_bit(proc::kSigUsr1));
  EXPECT_EQ(state.blocked, proc::signal_bit(proc::kSigUsr1));
  state.end_temporary_mask(false);
  EXPECT_EQ(state.blocked, proc::signal_bit(proc::kSigInt));
  EXPECT_FALSE(state.restore_saved);

  state.begin_temporary_mask(0);
  state.end_temporary_mask(true);  // interrupted: delivery puts the old one back
  EXPECT_EQ(state.blocked, 0u);
  EXPECT_TRUE(state.restore_saved);
  EXPECT_EQ(state.saved_blocked, proc::signal_bit(proc::kSigInt));
  state.restart_pending = true;
  EXPECT_FALSE(state.for_child().restart_pending);  // a fork returns no restart code
}

}  // namespace

// ---- Chapter 15, job control: stop and continue as states (proc/signal.h) and the orphaned
// process group rule (proc/process_groups.h).

TEST(JobControl, StopAndContinueThrowEachOtherAway) {
  proc::SignalState s;
  EXPECT_TRUE(s.send(proc::kSigTstp).posted);
  EXPECT_TRUE(s.send(proc::kSigTtin).posted);
  const proc::SignalState::Sent cont = s.send(proc::kSigCont);
  EXPECT_FALSE(cont.resumed);  // not stopped: nothing to continue
  EXPECT_EQ(s.pending & proc::SignalState::kStopSignals, 0u);  // the stops are gone
  EXPECT_NE(s.pending & proc::signal_bit(proc::kSigCont), 0u);
  EXPECT_TRUE(s.send(proc::kSigStop).posted);
  EXPECT_EQ(s.pending & proc::signal_bit(proc::kSigCont), 0u);  // and a stop takes SIGCONT away
  EXPECT_EQ(s.take_next(), proc::kSigStop);
}

TEST(JobControl, SigcontContinuesWhateverItsAction) {
  proc::SignalState s;
  s.stop(proc::kSigTstp);
  s.set_action(proc::kSigCont, {proc::kSigIgn, 0, 0, 0});
  s.blocked = proc::signal_bit(proc::kSigCont);
  const proc::SignalState::Sent sent = s.send(proc::kSigCont);
  EXPECT_TRUE(sent.resumed);  // ignored and blocked: it continues all the same
  EXPECT_FALSE(s.stopped);
  s.stop(proc::kSigStop);
  EXPECT_FALSE(s.send(proc::kSigUsr1).resumed);  // only SIGCONT continues
  EXPECT_TRUE(s.stopped);
}

TEST(JobControl, WaitReportsAStopAndAContinueOnce) {
  proc::SignalState s;
  EXPECT_EQ(s.take_wait_report(true, true, true), 0);
  s.stop(proc::kSigTtin);
  EXPECT_EQ(s.take_wait_report(false, true, true), 0);  // WCONTINUED alone: nothing yet
  EXPECT_EQ(s.take_wait_report(true, false, false), (21 << 8) | 0x7F);  // WNOWAIT: again
  const std::int32_t status = s.take_wait_report(true, false, true);
  EXPECT_TRUE(WIFSTOPPED(status));
  EXPECT_EQ(WSTOPSIG(status), SIGTTIN);
  EXPECT_EQ(s.take_wait_report(true, true, true), 0);  // told once
  s.stop(proc::kSigTstp);
  (void)s.send(proc::kSigCont);
  EXPECT_EQ(s.take_wait_report(true, false, true), 0);  // the untold stop went with the continue
  const std::int32_t continued = s.take_wait_report(false, true, true);
  EXPECT_TRUE(WIFCONTINUED(continued));
  EXPECT_EQ(s.take_wait_report(false, true, true), 0);
  // waitid's siginfo and SIGCHLD's for the two.
  EXPECT_EQ(proc::child_ended(5, proc::stopped_wait_status(proc::kSigStop)).code, proc::kCldStopped);
  EXPECT_EQ(proc::child_ended(5, proc::stopped_wait_status(proc::kSigStop)).status, SIGSTOP);
  EXPECT_EQ(proc::child_ended(5, proc::kContinuedWaitStatus).code, proc::kCldContinued);
  EXPECT_EQ(proc::child_ended(5, proc::kContinuedWaitStatus).status, SIGCONT);
  EXPECT_EQ(proc::child_ended(5, 0x0100).code, proc::kCldExited);
}

TEST(JobControl, OnlyAKillingSignalEndsAStop) {
  proc::SignalState s;
  s.stop(proc::kSigStop);
  (void)s.send(proc::kSigUsr1);  // terminate by default, but...
  s.set_action(proc::kSigUsr1, {0x401000, 0, 0, 0});  // ...caught: waits for SIGCONT
  (void)s.send(proc::kSigUsr1);
  (void)s.send(proc::kSigQuit);  // a core-dump signal does not end a stopped process either
  EXPECT_EQ(s.fatal_pending(), 0);
  EXPECT_FALSE(s.needs_attention());
  (void)s.send(proc::kSigTerm);  // `kill %1`
  EXPECT_EQ(s.fatal_pending(), proc::kSigTerm);
  EXPECT_TRUE(s.needs_attention());
  proc::SignalState k;
  k.stop(proc::kSigTstp);
  k.set_action(proc::kSigTerm, {0x401000, 0, 0, 0});
  (void)k.send(proc::kSigTerm);
  (void)k.send(proc::kSigKill);
  EXPECT_EQ(k.fatal_pending(), proc::kSigKill);
}

TEST(JobControl, AForkedChildIsNotStopped) {
  proc::SignalState s;
  s.stop(proc::kSigTstp);
  const proc::SignalState child = s.for_child();
  EXPECT_FALSE(child.stopped);
  EXPECT_EQ(child.stop_report, 0);
}

// A shell (pid 10, group 10) with a job of two (group 20) and one of one (group 30), all in
// session 10; the kernel's own child (parent 0) in its own session.
constexpr proc::GroupMember kTable[] = {
    {10, 0, 10, 10, true, false}, {21, 10, 20, 10, true, true}, {22, 10, 20, 10, true, false},
    {30, 10, 30, 10, true, false}, {40, 0, 40, 40, true, false}};

TEST(JobControl, AGroupWithAParentOutsideItIsNotOrphaned) {
  EXPECT_FALSE(proc::group_orphaned(kTable, 20));
  EXPECT_FALSE(proc::group_orphaned(kTable, 30));
  EXPECT_TRUE(proc::group_orphaned(kTable, 10));  // the shell's parent is the kernel
  EXPECT_TRUE(proc::group_orphaned(kTable, 40));  // `run`'s program: nobody can continue it
  EXPECT_TRUE(proc::group_orphaned(kTable, 20, 10));  // once the shell is gone
  // A parent in another session does not count (setsid'd children of a shell are on their own).
  proc::GroupMember other[] = {{10, 0, 10, 10}, {11, 10, 11, 11}};
  EXPECT_TRUE(proc::group_orphaned(other, 11));
  // Nor does a parent in the same group.
  proc::GroupMember same[] = {{10, 0, 10, 10}, {11, 10, 10, 10}};
  EXPECT_TRUE(proc::group_orphaned(same, 10));
}

TEST(JobControl, TheShellsExitContinuesItsStoppedJobs) {
  std::int32_t groups[5];
  const std::size_t count = proc::groups_orphaned_by_exit(kTable, kTable[0], groups);
  ASSERT_EQ(count, 1u);  // group 20 has a stopped member; 30 none; 40 was orphaned already
  EXPECT_EQ(groups[0], 20);
  // A job member's exit leaves its group attached (the shell is still there).
  EXPECT_EQ(proc::groups_orphaned_by_exit(kTable, kTable[2], groups), 0u);
}
