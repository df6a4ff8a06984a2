#include "server/process/getpid_cache.hpp"

#include <atomic>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace kms::process {
namespace {

std::atomic<pid_t> cached_pid{0};  // 0: ask the kernel

void ForgetInChild() { cached_pid.store(0, std::memory_order_relaxed); }

}  // namespace

pid_t CachedProcessId() {
  pid_t pid = cached_pid.load(std::memory_order_relaxed);
  if (pid != 0) return pid;
  // Registered by the first caller, before any value is cached that a child could inherit.
  static const bool registered = pthread_atfork(nullptr, nullptr, &ForgetInChild) == 0;
  // syscall(), not getpid(): with --wrap=getpid, getpid here would be this function again.
  pid = static_cast<pid_t>(syscall(SYS_getpid));
  if (registered) cached_pid.store(pid, std::memory_order_relaxed);
  return pid;
}

}  // namespace kms::process

extern "C" pid_t __wrap_getpid() { return kms::process::CachedProcessId(); }
