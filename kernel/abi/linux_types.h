// The structures and constants of the Linux x86_64 system-call ABI that ferrite's system calls
// read and write (chapter 14). Each layout is Linux's own, written out here (kernel code never
// includes the host's headers) from Debian's linux-libc-dev headers named beside it, and pinned
// with static_asserts on size and field offsets, so a program built for Linux finds every byte
// where it expects it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferrite::abi {

// <asm/stat.h> (x86_64): what stat, fstat, lstat and newfstatat fill in.
struct Stat {
  std::uint64_t st_dev;
  std::uint64_t st_ino;
  std::uint64_t st_nlink;
  std::uint32_t st_mode;
  std::uint32_t st_uid;
  std::uint32_t st_gid;
  std::uint32_t pad0;
  std::uint64_t st_rdev;
  std::int64_t st_size;
  std::int64_t st_blksize;
  std::int64_t st_blocks;  // in 512-byte units, whatever st_blksize says
  // st_atime, st_mtime, st_ctime and their _nsec fields (renamed: the C library's headers make
  // st_atime a macro for st_atim.tv_sec, which would break host builds of this header).
  std::uint64_t access_seconds;
  std::uint64_t access_nanoseconds;
  std::uint64_t modify_seconds;
  std::uint64_t modify_nanoseconds;
  std::uint64_t change_seconds;
  std::uint64_t change_nanoseconds;
  std::int64_t unused[3];
};
static_assert(sizeof(Stat) == 144);
static_assert(offsetof(Stat, st_mode) == 24 && offsetof(Stat, st_rdev) == 40);
static_assert(offsetof(Stat, st_size) == 48 && offsetof(Stat, st_blocks) == 64);
static_assert(offsetof(Stat, modify_seconds) == 88 && offsetof(Stat, change_seconds) == 104);

// The file-type bits of st_mode (<linux/stat.h>): S_IFMT and friends.
inline constexpr std::uint32_t kModeTypeMask = 0170000;
inline constexpr std::uint32_t kModeDirectory = 0040000;
inline constexpr std::uint32_t kModeCharDevice = 0020000;
inline constexpr std::uint32_t kModeRegular = 0100000;
inline constexpr std::uint32_t kModeSymlink = 0120000;
inline constexpr std::uint32_t kModeFifo = 0010000;
inline constexpr std::uint32_t kModeBlockDevice = 0060000;
inline constexpr std::uint32_t kModeSocket = 0140000;

// <linux/stat.h>: statx's timestamps and the structure itself (glibc's stat() uses statx when
// the kernel has it, and falls back to newfstatat on ENOSYS).
struct StatxTimestamp {
  std::int64_t tv_sec;
  std::uint32_t tv_nsec;
  std::int32_t reserved;
};
static_assert(sizeof(StatxTimestamp) == 16);

struct Statx {
  std::uint32_t stx_mask;  // which fields are filled in (STATX_*)
  std::uint32_t stx_blksize;
  std::uint64_t stx_attributes;
  std::uint32_t stx_nlink;
  std::uint32_t stx_uid;
  std::uint32_t stx_gid;
  std::uint16_t stx_mode;
  std::uint16_t spare0;
  std::uint64_t stx_ino;
  std::uint64_t stx_size;
  std::uint64_t stx_blocks;
  std::uint64_t stx_attributes_mask;
  StatxTimestamp stx_atime;
  StatxTimestamp stx_btime;
  StatxTimestamp stx_ctime;
  StatxTimestamp stx_mtime;
  std::uint32_t stx_rdev_major;
  std::uint32_t stx_rdev_minor;
  std::uint32_t stx_dev_major;
  std::uint32_t stx_dev_minor;
  std::uint64_t spare[14];
};
static_assert(sizeof(Statx) == 256);
static_assert(offsetof(Statx, stx_mode) == 28 && offsetof(Statx, stx_ino) == 32);
static_assert(offsetof(Statx, stx_atime) == 64 && offsetof(Statx, stx_btime) == 80);
static_assert(offsetof(Statx, stx_mtime) == 112 && offsetof(Statx, stx_rdev_major) == 128);
static_assert(offsetof(Statx, stx_dev_minor) == 140);
// STATX_BASIC_STATS: type, mode, nlink, uid, gid, atime, mtime, ctime, ino, size, blocks.
inline constexpr std::uint32_t kStatxBasicStats = 0x7FF;

// <linux/dirent.h>'s linux_dirent64 (the kernel's, in fs/readdir.c): a fixed header followed by
// the NUL-terminated name, each record padded to 8 bytes (d_reclen is the padded length).
struct Dirent64Header {
  std::uint64_t d_ino;
  std::int64_t d_off;  // the offset to pass to lseek to continue after this entry
  std::uint16_t d_reclen;
  std::uint8_t d_type;
};
inline constexpr std::size_t kDirent64NameOffset = 19;  // offsetof(linux_dirent64, d_name)
static_assert(offsetof(Dirent64Header, d_reclen) == 16 && offsetof(Dirent64Header, d_type) == 18);
// d_type values (<dirent.h>, DT_*).
inline constexpr std::uint8_t kDirentCharDevice = 2, kDirentDirectory = 4, kDirentRegular = 8,
                              kDirentSymlink = 10, kDirentFifo = 1;

// <asm-generic/termbits.h>: the kernel's struct termios (TCGETS/TCSETS), NCCS = 19.
inline constexpr std::size_t kTermiosControlChars = 19;
struct Termios {
  std::uint32_t c_iflag;
  std::uint32_t c_oflag;
  std::uint32_t c_cflag;
  std::uint32_t c_lflag;
  std::uint8_t c_line;
  std::uint8_t c_cc[kTermiosControlChars];
};
static_assert(sizeof(Termios) == 36 && offsetof(Termios, c_cc) == 17);
// Indices into c_cc and the flag bits we report (asm-generic/termbits.h, octal as there).
inline constexpr std::size_t kVintr = 0, kVquit = 1, kVerase = 2, kVkill = 3, kVeof = 4, kVtime = 5,
                             kVmin = 6, kVstart = 8, kVstop = 9, kVsusp = 10,
                             kVwerase = 14;
inline constexpr std::uint32_t kIcrnl = 0000400, kIxon = 0002000;
inline constexpr std::uint32_t kOpost = 0000001, kOnlcr = 0000004;
inline constexpr std::uint32_t kB38400 = 0000017, kCs8 = 0000060, kCread = 0000200;
inline constexpr std::uint32_t kIsig = 0000001, kIcanon = 0000002, kEcho = 0000010,
                               kEchoe = 0000020, kEchok = 0000040, kEchoctl = 0001000,
                               kEchoke = 0004000, kNoflsh = 0000200, kTostop = 0000400, kIexten = 0100000;

// <asm-generic/termios.h>: struct winsize (TIOCGWINSZ).
struct Winsize {
  std::uint16_t ws_row;
  std::uint16_t ws_col;
  std::uint16_t ws_xpixel;
  std::uint16_t ws_ypixel;
};
static_assert(sizeof(Winsize) == 8);

// ioctl request numbers for terminals (<asm-generic/ioctls.h>).
inline constexpr std::uint64_t kTcgets = 0x5401, kTcsets = 0x5402, kTcsetsw = 0x5403,
                               kTcsetsf = 0x5404, kTiocgpgrp = 0x540F, kTiocspgrp = 0x5410,
                               kTiocgwinsz = 0x5413, kTiocswinsz = 0x5414, kFionread = 0x541B,
                               kTiocsctty = 0x540E, kTiocnotty = 0x5422, kTiocgsid = 0x5429;

// <linux/utsname.h>: struct new_utsname, six NUL-terminated fields of 65 bytes.
inline constexpr std::size_t kUtsFieldLength = 65;
struct Utsname {
  char sysname[kUtsFieldLength];
  char nodename[kUtsFieldLength];
  char release[kUtsFieldLength];
  char version[kUtsFieldLength];
  char machine[kUtsFieldLength];
  char domainname[kUtsFieldLength];
};
static_assert(sizeof(Utsname) == 390);

// <linux/sysinfo.h> on a 64-bit kernel (its trailing padding is 0 bytes there).
struct Sysinfo {
  std::int64_t uptime;  // seconds since boot
  std::uint64_t loads[3];
  std::uint64_t totalram;
  std::uint64_t freeram;
  std::uint64_t sharedram;
  std::uint64_t bufferram;
  std::uint64_t totalswap;
  std::uint64_t freeswap;
  std::uint16_t procs;
  std::uint16_t pad;
  std::uint64_t totalhigh;
  std::uint64_t freehigh;
  std::uint32_t mem_unit;  // the unit of the *ram/*swap/*high fields, in bytes
};
static_assert(sizeof(Sysinfo) == 112);
static_assert(offsetof(Sysinfo, procs) == 80 && offsetof(Sysinfo, totalhigh) == 88 &&
              offsetof(Sysinfo, mem_unit) == 104);

// <asm-generic/statfs.h> (x86_64: __statfs_word is a long): what statfs and fstatfs fill in.
struct Statfs {
  std::int64_t f_type;  // the file system's magic number (<linux/magic.h>)
  std::int64_t f_bsize;
  std::uint64_t f_blocks;  // in f_frsize units
  std::uint64_t f_bfree;
  std::uint64_t f_bavail;
  std::uint64_t f_files;
  std::uint64_t f_ffree;
  std::int32_t f_fsid[2];
  std::int64_t f_namelen;
  std::int64_t f_frsize;
  std::int64_t f_flags;  // ST_* (<bits/statvfs.h>), with ST_VALID: the field is filled in
  std::int64_t f_spare[4];
};
static_assert(sizeof(Statfs) == 120);
static_assert(offsetof(Statfs, f_blocks) == 16 && offsetof(Statfs, f_fsid) == 56 &&
              offsetof(Statfs, f_namelen) == 64 && offsetof(Statfs, f_flags) == 80);
// <linux/magic.h>
inline constexpr std::int64_t kTmpfsMagic = 0x01021994, kRamfsMagic = 0x858458f6,
                              kPipefsMagic = 0x50495045;
// f_flags: ST_RDONLY (<bits/statvfs.h>) and ST_VALID (<linux/statfs.h>).
inline constexpr std::int64_t kStRdonly = 0x0001, kStValid = 0x0020;

// syslog(2)'s actions (SYSLOG_ACTION_* in <linux/syslog.h>'s kernel twin, include/linux/syslog.h).
inline constexpr std::int32_t kSyslogClose = 0, kSyslogOpen = 1, kSyslogRead = 2,
                              kSyslogReadAll = 3, kSyslogReadClear = 4, kSyslogClear = 5,
                              kSyslogConsoleOff = 6, kSyslogConsoleOn = 7,
                              kSyslogConsoleLevel = 8, kSyslogSizeUnread = 9,
                              kSyslogSizeBuffer = 10;

// <linux/time_types.h> __kernel_timespec and __kernel_old_timeval (64-bit fields on x86_64).
struct Timespec {
  std::int64_t tv_sec;
  std::int64_t tv_nsec;
};
struct Timeval {
  std::int64_t tv_sec;
  std::int64_t tv_usec;
};
static_assert(sizeof(Timespec) == 16 && sizeof(Timeval) == 16);
// <linux/time.h> struct itimerval (setitimer, getitimer) and the timers' `which`.
struct Itimerval {
  Timeval it_interval;  // the period it re-arms with
  Timeval it_value;     // the time left until it expires
};
static_assert(sizeof(Itimerval) == 32);
inline constexpr std::uint64_t kItimerReal = 0, kItimerVirtual = 1, kItimerProf = 2;
// Clock IDs (<linux/time.h>).
inline constexpr std::uint64_t kClockRealtime = 0, kClockMonotonic = 1, kClockProcessCputime = 2,
                               kClockThreadCputime = 3, kClockMonotonicRaw = 4,
                               kClockRealtimeCoarse = 5, kClockMonotonicCoarse = 6,
                               kClockBoottime = 7;
inline constexpr std::uint64_t kTimerAbstime = 1;  // clock_nanosleep's TIMER_ABSTIME

// <linux/resource.h> struct rusage and getrusage's `who`; <linux/times.h> struct tms (clock_t
// is __kernel_long_t: 64 bits on x86_64). Chapter 15's CPU time.
struct Rusage {
  Timeval ru_utime;
  Timeval ru_stime;
  std::int64_t ru_maxrss;  // KiB
  std::int64_t ru_ixrss, ru_idrss, ru_isrss;
  std::int64_t ru_minflt, ru_majflt, ru_nswap, ru_inblock, ru_oublock;
  std::int64_t ru_msgsnd, ru_msgrcv, ru_nsignals, ru_nvcsw, ru_nivcsw;
};
static_assert(sizeof(Rusage) == 144 && offsetof(Rusage, ru_maxrss) == 32 &&
              offsetof(Rusage, ru_minflt) == 64 && offsetof(Rusage, ru_nivcsw) == 136);
inline constexpr std::int32_t kRusageSelf = 0, kRusageChildren = -1, kRusageThread = 1;
struct Tms {
  std::int64_t tms_utime, tms_stime, tms_cutime, tms_cstime;
};
static_assert(sizeof(Tms) == 32);

// <linux/uio.h>: struct iovec; UIO_MAXIOV is the most a readv/writev may pass.
struct Iovec {
  std::uint64_t iov_base;
  std::uint64_t iov_len;
};
static_assert(sizeof(Iovec) == 16);
inline constexpr std::uint64_t kUioMaxIov = 1024;

// <linux/resource.h>: struct rlimit64 and the limits prlimit64 answers.
struct Rlimit64 {
  std::uint64_t rlim_cur;
  std::uint64_t rlim_max;
};
inline constexpr std::uint64_t kRlimInfinity = ~std::uint64_t{0};
inline constexpr std::uint64_t kRlimitStack = 3, kRlimitNofile = 7;
inline constexpr std::uint32_t kRlimitCount = 16;  // RLIM_NLIMITS

// The kernel's struct sigaction on x86_64 (arch/x86/include/uapi/asm/signal.h, with
// SA_RESTORER): handler, flags, restorer, mask — what rt_sigaction reads and writes.
struct KernelSigaction {
  std::uint64_t handler;
  std::uint64_t flags;
  std::uint64_t restorer;
  std::uint64_t mask;
};
static_assert(sizeof(KernelSigaction) == 32);
inline constexpr std::uint64_t kSigBlock = 0, kSigUnblock = 1, kSigSetmask = 2;

// open flags (<asm-generic/fcntl.h>) and the *at family's special values (<linux/fcntl.h>).
inline constexpr std::uint64_t kOpenAccessMask = 3, kOpenReadOnly = 0, kOpenWriteOnly = 1,
                               kOpenReadWrite = 2;
inline constexpr std::uint64_t kOpenCreate = 0100, kOpenExclusive = 0200, kOpenNoctty = 0400,
                               kOpenTruncate = 01000,
                               kOpenAppend = 02000, kOpenDirectory = 0200000,
                               kOpenNofollow = 0400000, kOpenCloexec = 02000000,
                               kOpenNonblock = 04000;
inline constexpr std::int32_t kAtFdcwd = -100;
inline constexpr std::uint64_t kAtSymlinkNofollow = 0x100, kAtEaccess = 0x200,
                               kAtSymlinkFollow = 0x400, kAtEmptyPath = 0x1000;
// access() modes (<unistd.h>): F_OK 0, X_OK 1, W_OK 2, R_OK 4.
inline constexpr std::uint64_t kAccessExecute = 1, kAccessWrite = 2, kAccessRead = 4;
// lseek's whence (<linux/fs.h>).
inline constexpr std::uint64_t kSeekSet = 0, kSeekCur = 1, kSeekEnd = 2;

// mmap (<asm-generic/mman-common.h>, <linux/mman.h>).
inline constexpr std::uint64_t kMapShared = 0x01, kMapPrivate = 0x02, kMapTypeMask = 0x0F,
                               kMapFixed = 0x10, kMapAnonymous = 0x20,
                               kMapFixedNoreplace = 0x100000;
inline constexpr std::uint64_t kProtMask = 0x7;  // PROT_READ | PROT_WRITE | PROT_EXEC
// mremap's flags (<linux/mman.h>; MREMAP_DONTUNMAP since Linux 5.7).
inline constexpr std::uint64_t kMremapMaymove = 1, kMremapFixed = 2, kMremapDontunmap = 4;

// arch_prctl codes (<asm/prctl.h>).
inline constexpr std::uint64_t kArchSetGs = 0x1001, kArchSetFs = 0x1002, kArchGetFs = 0x1003,
                               kArchGetGs = 0x1004;

// reboot(2)'s magic numbers and commands (<linux/reboot.h>).
inline constexpr std::uint64_t kRebootMagic1 = 0xfee1dead;
inline constexpr std::uint64_t kRebootMagic2 = 672274793, kRebootMagic2A = 85072278,
                               kRebootMagic2B = 369367448, kRebootMagic2C = 537993216;
inline constexpr std::uint64_t kRebootCmdRestart = 0x01234567, kRebootCmdHalt = 0xCDEF0123,
                               kRebootCmdPowerOff = 0x4321FEDC, kRebootCmdCadOn = 0x89ABCDEF,
                               kRebootCmdCadOff = 0x00000000;

// getrandom flags (<linux/random.h>).
inline constexpr std::uint64_t kGrndNonblock = 1, kGrndRandom = 2, kGrndInsecure = 4;

}  // namespace ferrite::abi
