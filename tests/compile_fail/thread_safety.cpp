// A check on the check: scripts/clang_checks.sh compiles this file with clang++-14
// -Wthread-safety -Werror twice. As it is, it must fail, naming `count_`: proof that
// base/thread_annotations.hpp expands to live attributes under clang and that -Wthread-safety
// reaches them (a macro turned into a no-op would let every annotation in the tree pass
// unchecked). With -DKMS_LOCKED it must compile: the failure is the missing lock, nothing else.
#include "base/mutex.hpp"

namespace kms {

class Counter {
 public:
  void Add() {
#ifdef KMS_LOCKED
    const MutexLock lock(mu_);
#endif
    ++count_;
  }

 private:
  Mutex mu_;
  int count_ GUARDED_BY(mu_) = 0;
};

void Use() {
  Counter c;
  c.Add();
}

}  // namespace kms
