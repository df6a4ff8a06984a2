// File: server/process/getpid_cache.hpp
//
// OpenSSL 3.0's DRBG asks getpid() on every draw, to notice a fork and reseed in the child.
// glibc has not cached the pid since 2.25, so each draw is a system call: one per ECDSA
// signature (its nonce). On the virtual machines kmsd is benchmarked on a system call costs
// ~1 us itself and more in its aftermath: caching took a Sign with a P-256 key from 32.0 to
// 28.1 us of server CPU. The statically linked kmsd is linked with -Wl,--wrap=getpid
// (server/CMakeLists.txt), which sends the getpid calls of the libraries linked into it
// (OpenSSL's among them) to __wrap_getpid, which answers CachedProcessId().
//
// Fork safety is kept: a pthread_atfork child handler forgets the cached value, so a child
// made by fork() asks the kernel again (kmsd itself never forks). A child made by a raw
// clone() or vfork() that then runs OpenSSL would be the one case this misses.
//
// Thread-safety: any thread.
#pragma once

#include <sys/types.h>

namespace kms::process {

// getpid(), asked of the kernel once per process.
pid_t CachedProcessId();

}  // namespace kms::process

// The definition --wrap=getpid links in place of getpid for the static kmsd; unused otherwise.
extern "C" pid_t __wrap_getpid();
