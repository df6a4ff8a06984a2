#include "server/ops/paging.hpp"

#include <algorithm>
#include <utility>

namespace kms::ops {

server::KmsError InvalidMarker(std::string_view marker) {
  return server::KmsError{server::ErrorCode::kInvalidMarker,
                          "The marker '" + std::string(marker) + "' is not valid."};
}

server::Result<Pager> Pager::Read(const server::JsonIn& in, std::int64_t default_limit,
                                  std::int64_t max_limit,
                                  bool (*valid_marker)(std::string_view marker)) {
  const std::int64_t limit =
      std::clamp<std::int64_t>(in.OptionalInt("Limit").value_or(default_limit), 1, max_limit);
  std::optional<std::string> marker;
  if (const std::optional<std::string_view> text = in.OptionalString("Marker")) {
    if (!valid_marker(*text)) return InvalidMarker(*text);
    marker = std::string(*text);
  }
  return Pager(limit, std::move(marker));
}

Pager::Pager(std::int64_t limit, std::optional<std::string> marker)
    : limit_(std::max<std::int64_t>(limit, 1)), marker_(std::move(marker)) {}

bool Pager::Take(std::string_view key) {
  if (taken_ == limit_) {
    truncated_ = true;
    return false;
  }
  ++taken_;
  last_ = std::string(key);
  return true;
}

void Pager::Finish(server::JsonOut& out) const {
  if (truncated_) out.String("NextMarker", last_);
  out.Bool("Truncated", truncated_);
}

}  // namespace kms::ops
