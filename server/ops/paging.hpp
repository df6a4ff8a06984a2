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
// Thread-safety: one Pager per request.
#pragma once

#include <cstdint>
#include <optional>
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

}  // namespace kms::ops
