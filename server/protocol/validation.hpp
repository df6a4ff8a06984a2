// File: validation.hpp
//
// Checks a parsed AWS JSON 1.1 request body against the KMS service model (model_table.hpp)
// before any handler runs, the way AWS's front end does:
//   * the wrong JSON type for a member       -> SerializationException-style message
//   * required / length / range / enum / pattern violations
//                                            -> ValidationException with AWS's exact text:
//     "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint:
//      Member must have value greater than or equal to 1"
// Unknown members are ignored and a JSON null counts as absent, as AWS does. Base64 validity
// of blobs is left to the JSON reader; blob lengths use the decoded size.
//
// Usage:
//   RequestCheck check = CheckRequest("GenerateRandom", body);
//   if (check.kind == RequestCheck::Kind::kValidation) return KmsError::Validation(check.message);
//
// Thread safety: all functions may be called concurrently. Patterns are compiled once, on
// first use, under std::call_once.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

namespace kms::server {

struct RequestCheck {
  enum class Kind { kOk, kUnknownOperation, kSerialization, kValidation };
  Kind kind = Kind::kOk;
  std::string message;  // empty for kOk and kUnknownOperation
};

// Checks the parsed JSON body of `operation` (e.g. "Encrypt", without "TrentService.") against
// the model. Stops at the first wrong JSON type (kSerialization); otherwise reports every
// constraint violation, in model member order (kValidation). Does not allocate when the
// request is valid, except to match a member that has a pattern constraint.
RequestCheck CheckRequest(std::string_view operation, const rapidjson::Value& body);

// True when the model's input structure of `operation` has a member named `member` (e.g.
// "GrantTokens"); false for an unknown operation.
bool InputHasMember(std::string_view operation, std::string_view member);

// True when `operation` is one of the 54 KMS operations.
bool IsKnownOperation(std::string_view operation);

// The 54 operation names, sorted (the same list as tests/data/kms_operations.txt).
std::span<const std::string_view> OperationNames();

// True when the UTF-8 `value` fully matches model pattern `pattern_index` (an index into
// model::kTables.patterns), with Java's semantics: the pattern sees Unicode code points.
// Single-class patterns such as `^[a-zA-Z0-9:/_-]+$` are matched by a small scanner without
// allocating; the others by std::wregex. Throws std::regex_error if such a pattern does not
// compile (model_table_test tries them all) and std::out_of_range for a bad index.
bool MatchesModelPattern(std::size_t pattern_index, std::string_view value);

// For tests: the same match done by std::wregex alone, to cross-check the scanner.
bool MatchesModelPatternWithRegex(std::size_t pattern_index, std::string_view value);

}  // namespace kms::server
