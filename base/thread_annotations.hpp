// File: thread_annotations.hpp
//
// Clang's thread-safety attributes, as macros: they say which mutex guards which member and
// which lock a function needs, and clang's -Wthread-safety (scripts/clang_checks.sh, a CI
// stage, with -Werror) proves every access against them at compile time. On other compilers
// (g++, the default build) they expand to nothing.
//
//   class Queue {
//     void Push(Item item) EXCLUDES(mu_);        // takes mu_ itself
//     void PushLocked(Item item) REQUIRES(mu_);  // the caller holds mu_
//     Mutex mu_;
//     std::deque<Item> items_ GUARDED_BY(mu_);
//   };
//
// The lockable types themselves (Mutex, SharedMutex and their scoped locks) are in
// base/mutex.hpp: libstdc++'s std::mutex carries no attributes, so the analysis cannot see it.
// The names are clang's own attribute names, upper-cased, as the clang documentation spells
// them ("Thread Safety Analysis").
//
// Errors: none (compile-time only). Thread-safety: not applicable.
#pragma once

#if defined(__clang__)
#define KMS_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define KMS_THREAD_ANNOTATION_(x)
#endif

// On a class: its objects are capabilities (a lock) of the named kind ("mutex").
#define CAPABILITY(kind) KMS_THREAD_ANNOTATION_(capability(kind))
// On a class: an RAII object that holds the capabilities its constructor acquires until it is
// destroyed (or until a member annotated RELEASE gives them back).
#define SCOPED_CAPABILITY KMS_THREAD_ANNOTATION_(scoped_lockable)

// On a data member: reading it needs `x` held (shared or exclusive), writing needs it exclusive.
#define GUARDED_BY(x) KMS_THREAD_ANNOTATION_(guarded_by(x))
// On a pointer member: the same for the object it points to.
#define PT_GUARDED_BY(x) KMS_THREAD_ANNOTATION_(pt_guarded_by(x))
// On a mutex member: documents the lock order (checked only by -Wthread-safety-beta).
#define ACQUIRED_AFTER(...) KMS_THREAD_ANNOTATION_(acquired_after(__VA_ARGS__))
#define ACQUIRED_BEFORE(...) KMS_THREAD_ANNOTATION_(acquired_before(__VA_ARGS__))

// On a function: the caller must hold these exclusively / at least shared.
#define REQUIRES(...) KMS_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) KMS_THREAD_ANNOTATION_(requires_shared_capability(__VA_ARGS__))
// On a function: the caller must not hold these (the function takes them itself).
#define EXCLUDES(...) KMS_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))

// On a function: it takes / gives back these (for a member of a capability class with no
// argument: the object itself).
#define ACQUIRE(...) KMS_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) KMS_THREAD_ANNOTATION_(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) KMS_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) KMS_THREAD_ANNOTATION_(release_shared_capability(__VA_ARGS__))
// On a function returning bool: it took the capability if it returned `result`.
#define TRY_ACQUIRE(...) KMS_THREAD_ANNOTATION_(try_acquire_capability(__VA_ARGS__))
#define TRY_ACQUIRE_SHARED(...) KMS_THREAD_ANNOTATION_(try_acquire_shared_capability(__VA_ARGS__))

// On a function: from the call on, the analysis takes these as held. The function's promise,
// not a check: use it only where the lock is held for a reason the analysis cannot follow
// (Registry::Writer holds its lock for the Writer's lifetime), and say why there.
#define ASSERT_CAPABILITY(x) KMS_THREAD_ANNOTATION_(assert_capability(x))
#define ASSERT_SHARED_CAPABILITY(x) KMS_THREAD_ANNOTATION_(assert_shared_capability(x))

// On a function returning a reference to a capability: which one it is.
#define RETURN_CAPABILITY(x) KMS_THREAD_ANNOTATION_(lock_returned(x))

// On a function: the analysis skips its body. An escape hatch: each use says why next to it.
#define NO_THREAD_SAFETY_ANALYSIS KMS_THREAD_ANNOTATION_(no_thread_safety_analysis)
