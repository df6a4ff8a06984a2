// File: tests/unit/domain/model_enum.hpp
//
// The enum values of a botocore model shape, from the compiled-in request model
// (server/protocol/model_table.hpp), so the domain tables are checked against AWS's model.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "server/protocol/model_table.hpp"

namespace kms::domain::testing {

inline std::span<const std::string_view> ModelEnum(std::string_view shape_name) {
  const auto& t = server::model::kTables;
  for (const auto& shape : t.shapes) {
    if (shape.name == shape_name) {
      return t.enum_values.subspan(shape.enum_first, shape.enum_count);
    }
  }
  FAIL("no shape " << std::string(shape_name));
  return {};
}

}  // namespace kms::domain::testing
