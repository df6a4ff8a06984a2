// File: model_table.hpp
//
// The request side of the botocore KMS service model (kms 2014-11-01) as constant tables:
// every operation's input structure and every shape reachable from an input, with the
// constraints AWS validates (required, length/value bounds, enums, patterns). validation.cpp
// checks each request body against these tables before any handler runs.
//
// The tables live in model_table.cpp, which tools/gen_model_table.py GENERATES from the model;
// never edit it by hand. Regenerate with `python3 tools/gen_model_table.py` and check with
// `--check` (model_table_test runs the check).
//
// Thread safety: the tables are immutable and constant-initialised; read them from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace kms::server::model {

enum class ShapeKind : std::uint8_t {
  kString,
  kBlob,
  kInteger,
  kBoolean,
  kTimestamp,
  kList,
  kMap,
  kStructure,
};

// Index of a shape in Tables::shapes; kNoShape where a field does not apply.
using ShapeIndex = std::uint16_t;
inline constexpr ShapeIndex kNoShape = 0xFFFF;
// Index of a pattern in Tables::patterns; kNoPattern when the shape has none.
inline constexpr std::uint16_t kNoPattern = 0xFFFF;

// One model shape. `min`/`max` are a length for strings (Unicode code points), blobs (decoded
// bytes), lists (elements) and maps (entries), and a value for integers.
struct Shape {
  std::string_view name;  // model shape name, e.g. "KeySpec"
  ShapeKind kind;
  bool sensitive;  // omit the value from validation messages
  bool has_min;
  bool has_max;
  std::int64_t min;
  std::int64_t max;
  std::uint16_t enum_first;  // enum values: Tables::enum_values[enum_first, +enum_count)
  std::uint16_t enum_count;
  std::uint16_t pattern;       // index into Tables::patterns, or kNoPattern
  std::uint16_t member_first;  // structure members: Tables::members[member_first, +member_count)
  std::uint16_t member_count;
  ShapeIndex element;  // list member shape or map value shape, else kNoShape
  ShapeIndex key;      // map key shape, else kNoShape
};

// One member of a structure, in model order.
struct Member {
  std::string_view name;        // JSON member name, e.g. "NumberOfBytes"
  std::string_view camel_name;  // name in validation messages, e.g. "numberOfBytes"
  ShapeIndex shape;
  bool required;
};

struct Operation {
  std::string_view name;  // e.g. "Encrypt" (X-Amz-Target is "TrentService.Encrypt")
  ShapeIndex input;       // input structure
};

struct Tables {
  std::string_view model_uid;             // metadata.uid, e.g. "kms-2014-11-01"
  std::string_view model_sha256;          // sha256 of the canonical JSON of everything used here
  std::span<const Operation> operations;  // sorted by name
  std::span<const std::string_view> operation_names;  // the same names, sorted
  std::span<const Shape> shapes;
  std::span<const Member> members;
  std::span<const std::string_view> enum_values;
  std::span<const std::string_view> patterns;  // as written in the model (Java syntax)
};

// Defined in the generated model_table.cpp.
extern const Tables kTables;

}  // namespace kms::server::model
