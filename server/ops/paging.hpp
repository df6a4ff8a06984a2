// File: paging.hpp
//
// Limit/Marker paging of the List* operations. One mechanism: an operation lists its entries in
// a fixed order of a key that identifies each (ListKeys: key id; ListKeyRotations: material
// version); NextMarker is the key of the last entry of a page and the next page starts after
// it, so entries added or removed between two calls are neither repeated nor skipped.
//
//   const std::int64_t limit = in.OptionalInt("Limit").value_or(kDefaultLimit);
//   // ... entries: what follows the request's Marker, in listing order ...
//   WritePage(out, "Keys", std::span<const KeyPtr>(entries), limit,
//             [&](const KeyPtr& key) { /* one object */ },
//             [](const KeyPtr& key) { return key->key_id; });
//
// Thread-safety: stateless.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "server/protocol/error.hpp"
#include "server/protocol/json_io.hpp"

namespace kms::ops {

// InvalidMarkerException "Invalid marker '<marker>'" for a Marker no page of this operation
// ends with. (AWS's text is not pinned.)
inline server::KmsError InvalidMarker(std::string_view marker) {
  return {server::ErrorCode::kInvalidMarker, "Invalid marker '" + std::string(marker) + "'"};
}

// Writes `member` as an array of the first `limit` of `entries` (those after the request's
// Marker, in listing order), each written by `write(entry)` as one object; then, when entries
// are left over, NextMarker = `marker_of(last entry written)`; then Truncated. The model keeps
// Limit at 1 or more; a smaller value lists one entry.
template <class Entry, class Write, class MarkerOf>
void WritePage(server::JsonOut& out, std::string_view member, std::span<const Entry> entries,
               std::int64_t limit, Write&& write, MarkerOf&& marker_of) {
  const std::size_t count =
      std::min(entries.size(), static_cast<std::size_t>(std::max<std::int64_t>(limit, 1)));
  out.Key(member);
  out.StartArray();
  for (std::size_t i = 0; i < count; ++i) {
    out.StartObject();
    write(entries[i]);
    out.EndObject();
  }
  out.EndArray();
  const bool truncated = count < entries.size();
  if (truncated) out.String("NextMarker", marker_of(entries[count - 1]));
  out.Bool("Truncated", truncated);
}

}  // namespace kms::ops
