// File: crypto/bounded_cache.hpp
//
// BoundedCache: a map from string ids (a key material's KeyMaterialId) to what was built from
// that material (a parsed private key, prepared signing contexts), holding at most `capacity`
// entries. Used as a thread_local, so the hot path neither parses keys nor takes a lock:
//
//   thread_local BoundedCache<Pkey> cache(1024);
//   KMS_ASSIGN_OR_RETURN(Pkey* key,   // valid until the next GetOrMake
//                        cache.GetOrMake(material_id, [&] { return ParsePrivateKey(der); }));
//
// When full, an arbitrary entry is dropped to make room: a miss only costs one build, and the
// ids are key material ids, so a stale entry is never wrong (a material never changes).
// Failed builds are not cached.
//
// Thread safety: none; one instance per thread.
#pragma once

#include "base/try.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "crypto/error.hpp"

namespace kms::crypto {

template <class Entry>
class BoundedCache {
 public:
  explicit BoundedCache(std::size_t capacity) : capacity_(capacity) {}
  BoundedCache(const BoundedCache&) = delete;
  BoundedCache& operator=(const BoundedCache&) = delete;

  // The entry for `id`; on a miss, the one `make()` (returning Result<Entry>) builds.
  // The pointer is valid until the next call.
  template <class Make>
  Result<Entry*> GetOrMake(std::string_view id, Make&& make) {
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      KMS_ASSIGN_OR_RETURN(Entry made, std::forward<Make>(make)());
      if (entries_.size() >= capacity_) entries_.erase(entries_.begin());
      it = entries_.emplace(std::string(id), std::move(made)).first;
    }
    return &it->second;
  }

  std::size_t size() const { return entries_.size(); }

 private:
  // Lets the map be searched with a string_view, so a hit allocates nothing.
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> entries_;
  std::size_t capacity_;
};

}  // namespace kms::crypto
