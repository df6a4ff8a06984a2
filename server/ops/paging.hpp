// File: paging.hpp
//
// Limit/Marker paging for the list operations, the mechanism ListKeys and ListAliases use,
// written once (the grant listings use it; ListKeys, ListAliases and ListResourceTags, which
// still page by hand, can move onto it): a list is walked in ascending order of a text sort
// key; NextMarker is the sort key of the last item a page holds, and the next page starts right
// after it (an upper bound, not an index), so paging survives items being added or removed
// between pages: nothing is listed twice and nothing that stayed is skipped.
//
//   KMS_ASSIGN_OR_RETURN(Pager pager, Pager::Read(in, kDefault, kMax, &IsMyMarker));
//   for (const Item& item : sorted_items) {       // ascending SortKey(item)
//     if (!pager.After(SortKey(item)) || !Wanted(item)) continue;
//     if (!pager.Take(SortKey(item))) break;       // the page is full: Truncated
//     Write(item);
//   }
//   pager.Finish(out);                             // NextMarker (if truncated), Truncated
//
// For a list already gathered in order, WritePage writes a page of it in one call:
//
//   WritePage(out, "Keys", std::span<const KeyPtr>(after_marker), limit,
//             [&](const KeyPtr& key) { /* one object */ },
//             [](const KeyPtr& key) { return key->key_id; });
//
// Thread-safety: one Pager per request; WritePage is stateless.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "server/protocol/json_io.hpp"
#include "server/protocol/result.hpp"

namespace kms::ops {

// InvalidMarkerException for a Marker that no page of this list could have returned. (AWS's
// text is not pinned; ListAliases and ListResourceTags use the same one.)
server::KmsError InvalidMarker(std::string_view marker);

class Pager {
 public:
  // The request's Limit (default `default_limit`; values above `max_limit` count as
  // `max_limit`, as AWS documents "between 1 and 100" while the model allows up to 1000) and
  // Marker, which must satisfy `valid_marker` (else InvalidMarkerException).
  static server::Result<Pager> Read(const server::JsonIn& in, std::int64_t default_limit,
                                    std::int64_t max_limit,
                                    bool (*valid_marker)(std::string_view marker));

  Pager(std::int64_t limit, std::optional<std::string> marker);

  // True if an item with sort key `key` comes after the marker (always, without one).
  bool After(std::string_view key) const { return !marker_ || key > *marker_; }
  // Puts the item with sort key `key` (the next one in ascending order) on the page: true.
  // False once the page is full; the list is then truncated and the walk should stop.
  bool Take(std::string_view key);
  // Writes NextMarker (when truncated) and Truncated.
  void Finish(server::JsonOut& out) const;

  bool truncated() const { return truncated_; }

 private:
  std::int64_t limit_;
  std::optional<std::string> marker_;
  std::int64_t taken_ = 0;
  std::string last_;
  bool truncated_ = false;
};

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
