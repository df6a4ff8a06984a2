#include "server/process/getpid_cache.hpp"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace kms::process {
namespace {

pid_t KernelPid() { return static_cast<pid_t>(syscall(SYS_getpid)); }

TEST_CASE("CachedProcessId and __wrap_getpid answer this process's id", "[server][getpid]") {
  CHECK(CachedProcessId() == KernelPid());
  CHECK(CachedProcessId() == KernelPid());  // from the cache now
  CHECK(__wrap_getpid() == KernelPid());
}

TEST_CASE("A forked child gets its own id, not the parent's cached one", "[server][getpid]") {
  const pid_t parent = CachedProcessId();  // cached before the fork
  REQUIRE(parent == KernelPid());
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const pid_t seen = CachedProcessId();
    _exit(seen == KernelPid() && seen != parent && __wrap_getpid() == seen ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(CachedProcessId() == parent);  // the parent's cache is untouched
}

}  // namespace
}  // namespace kms::process
