// File: validation.cpp
//
// Walks a request body along the generated model tables. One pass: the first wrong JSON type
// stops the walk (AWS fails deserialization before it validates anything); constraint
// violations are collected in model member order. On the success path nothing is allocated:
// the member path is a fixed array of views and the message string stays empty. (A value
// checked against one of the few patterns that need std::regex allocates inside the library.)
//
// Message format (AWS/Coral), one violation per failed rule:
//   Value '<v>' at '<path>' failed to satisfy constraint: Member must <rule>
// joined with "; " after "N validation error(s) detected: ". The value is omitted for
// sensitive shapes, blobs, lists, maps and structures ("Value at '<path>'"), and a missing
// required member reads "Value null at '<path>' ... Member must not be null". Paths use
// lowerCamel names; a list element of structures is "tags.1.member.tagKey" (1-based) and a
// map value "encryptionContext.<key>". Elements of scalar lists are reported once per list, as
// Coral does: "Value '[a, b]' at 'grantTokens' failed to satisfy constraint: Member must
// satisfy constraint: [Member must have length greater than or equal to 1]".
#include "server/protocol/validation.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <stdexcept>
#include <utility>
#include <vector>

#include "server/protocol/model_table.hpp"

namespace kms::server {
namespace {

using model::kTables;
using model::Member;
using model::Shape;
using model::ShapeKind;

// Matches MAX_DEPTH in tools/gen_model_table.py: no input shape nests deeper.
constexpr std::size_t kMaxPathDepth = 8;

// --- patterns --------------------------------------------------------------------------------
//
// The model's patterns are Java regexes over UTF-16 text, e.g. `[\u0020-\u00FF]*`. Most are a
// single character class repeated (`^[a-zA-Z0-9:/_-]+$`); ClassPattern matches those in one
// pass over the UTF-8 bytes, without allocating. The rest (RegionType, the XKS shapes) go to
// std::wregex over UTF-32 code points, which reads them the way Java does: `\uXXXX` is
// understood, a range up to \u00FF does not overflow a signed char, and a multi-byte UTF-8
// character is one character.
static_assert(sizeof(wchar_t) == 4, "pattern matching needs wchar_t to hold a code point");

constexpr std::regex_constants::syntax_option_type kRegexFlags =
    std::regex_constants::ECMAScript
#if defined(__GLIBCXX__)
    // libstdc++'s default executor recurses once per repetition, so `[...]+` against a
    // 128 KiB string overflows an 8 MiB stack. __polynomial selects its Thompson (BFS)
    // executor: linear time, bounded stack. The model has no back-references.
    | std::regex_constants::__polynomial
#endif
    ;

// Decodes the code point at s[i] and advances i past it. An invalid or truncated sequence
// yields U+FFFD and advances one byte.
char32_t NextCodePoint(std::string_view s, std::size_t& i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  std::size_t length = 0;
  char32_t code_point = 0;
  if (lead < 0x80) {
    length = 1;
    code_point = lead;
  } else if ((lead & 0xE0U) == 0xC0U) {
    length = 2;
    code_point = lead & 0x1FU;
  } else if ((lead & 0xF0U) == 0xE0U) {
    length = 3;
    code_point = lead & 0x0FU;
  } else if ((lead & 0xF8U) == 0xF0U) {
    length = 4;
    code_point = lead & 0x07U;
  }
  bool valid = length != 0 && i + length <= s.size();
  for (std::size_t k = 1; valid && k < length; ++k) {
    const auto next = static_cast<unsigned char>(s[i + k]);
    valid = (next & 0xC0U) == 0x80U;
    code_point = (code_point << 6U) | (next & 0x3FU);
  }
  if (!valid) {
    ++i;
    return U'\uFFFD';
  }
  i += length;
  return code_point;
}

void DecodeUtf8(std::string_view in, std::wstring& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size();) out.push_back(static_cast<wchar_t>(NextCodePoint(in, i)));
}

// A pattern of the form `^?[class]+$?` or `^?[class]*$?` (anchors are implied by full-match
// semantics), where the class holds characters, ranges, \w \s \d (ASCII, as in Java),
// \uXXXX, \xXX and escaped punctuation.
class ClassPattern {
 public:
  // nullopt when `pattern` is not of that form; std::regex handles it then.
  static std::optional<ClassPattern> Parse(std::string_view pattern) {
    ClassPattern out;
    std::size_t i = 0;
    if (i < pattern.size() && pattern[i] == '^') ++i;
    if (i >= pattern.size() || pattern[i] != '[') return std::nullopt;
    ++i;
    if (i < pattern.size() && pattern[i] == '^') return std::nullopt;  // negated class
    bool closed = false;
    while (i < pattern.size()) {
      if (pattern[i] == ']') {
        closed = true;
        ++i;
        break;
      }
      Atom low;
      if (!ReadAtom(pattern, i, low)) return std::nullopt;
      if (low.shorthand != 0) {
        out.AddShorthand(low.shorthand);
        continue;
      }
      char32_t high = low.code_point;
      if (i + 1 < pattern.size() && pattern[i] == '-' && pattern[i + 1] != ']') {
        ++i;
        Atom end;
        if (!ReadAtom(pattern, i, end) || end.shorthand != 0 || end.code_point < low.code_point) {
          return std::nullopt;
        }
        high = end.code_point;
      }
      out.AddRange(low.code_point, high);
    }
    if (!closed || i >= pattern.size()) return std::nullopt;
    if (pattern[i] != '+' && pattern[i] != '*') return std::nullopt;
    out.allow_empty_ = pattern[i++] == '*';
    if (i < pattern.size() && pattern[i] == '$') ++i;
    if (i != pattern.size()) return std::nullopt;
    return out;
  }

  bool Matches(std::string_view s) const {
    if (s.empty()) return allow_empty_;
    for (std::size_t i = 0; i < s.size();) {
      const auto byte = static_cast<unsigned char>(s[i]);
      if (byte < 0x80) {
        if (!ascii_[byte]) return false;
        ++i;
      } else if (!ContainsNonAscii(NextCodePoint(s, i))) {
        return false;
      }
    }
    return true;
  }

 private:
  struct Atom {
    char32_t code_point = 0;
    char shorthand = 0;  // 'w', 's' or 'd' for a class escape
  };

  static bool ReadHex(std::string_view pattern, std::size_t& i, std::size_t digits, char32_t& out) {
    if (i + digits > pattern.size()) return false;
    std::uint32_t value = 0;
    const char* first = pattern.data() + i;
    const auto [ptr, ec] = std::from_chars(first, first + digits, value, 16);
    if (ec != std::errc{} || ptr != first + digits) return false;
    i += digits;
    out = value;
    return true;
  }

  static bool ReadAtom(std::string_view pattern, std::size_t& i, Atom& atom) {
    const char c = pattern[i++];
    if (c == '[' || static_cast<unsigned char>(c) >= 0x80) return false;
    if (c != '\\') {
      atom.code_point = static_cast<unsigned char>(c);
      return true;
    }
    if (i >= pattern.size()) return false;
    const char e = pattern[i++];
    switch (e) {
      case 'w':
      case 's':
      case 'd':
        atom.shorthand = e;
        return true;
      case 't':
        atom.code_point = U'\t';
        return true;
      case 'n':
        atom.code_point = U'\n';
        return true;
      case 'r':
        atom.code_point = U'\r';
        return true;
      case 'f':
        atom.code_point = U'\f';
        return true;
      case 'v':
        atom.code_point = U'\v';
        return true;
      case 'u':
        return ReadHex(pattern, i, 4, atom.code_point);
      case 'x':
        return ReadHex(pattern, i, 2, atom.code_point);
      default:
        // An escaped punctuation character is itself; any other escape is not supported here.
        if (std::isalnum(static_cast<unsigned char>(e)) != 0) return false;
        atom.code_point = static_cast<unsigned char>(e);
        return true;
    }
  }

  void AddShorthand(char shorthand) {
    switch (shorthand) {
      case 'w':  // Java \w: [a-zA-Z_0-9]
        AddRange(U'a', U'z');
        AddRange(U'A', U'Z');
        AddRange(U'0', U'9');
        AddRange(U'_', U'_');
        return;
      case 's':  // Java \s: [ \t\n\x0B\f\r]
        AddRange(U' ', U' ');
        AddRange(U'\t', U'\r');
        return;
      default:  // 'd'
        AddRange(U'0', U'9');
        return;
    }
  }

  void AddRange(char32_t low, char32_t high) {
    for (char32_t c = low; c <= high && c < 0x80; ++c) ascii_[c] = true;
    if (high >= 0x80) non_ascii_.emplace_back(std::max<char32_t>(low, 0x80), high);
  }

  bool ContainsNonAscii(char32_t c) const {
    return std::any_of(non_ascii_.begin(), non_ascii_.end(),
                       [c](const auto& range) { return c >= range.first && c <= range.second; });
  }

  std::array<bool, 0x80> ascii_{};
  std::vector<std::pair<char32_t, char32_t>> non_ascii_;
  bool allow_empty_ = false;
};

// Each model pattern, compiled on first use.
struct CompiledPattern {
  std::once_flag class_once;
  std::optional<ClassPattern> class_pattern;
  std::once_flag regex_once;
  std::optional<std::wregex> regex;
};

CompiledPattern& PatternSlot(std::size_t index) {
  static const std::unique_ptr<CompiledPattern[]> slots =
      std::make_unique<CompiledPattern[]>(kTables.patterns.size());
  if (index >= kTables.patterns.size()) throw std::out_of_range("no such model pattern");
  return slots[index];
}

bool RegexMatches(CompiledPattern& slot, std::size_t index, std::string_view value) {
  std::call_once(slot.regex_once, [&slot, index] {
    const std::string_view source = kTables.patterns[index];
    slot.regex.emplace(std::wstring(source.begin(), source.end()), kRegexFlags);
  });
  thread_local std::wstring code_points;  // reused: no allocation once it has grown
  DecodeUtf8(value, code_points);
  return std::regex_match(code_points, *slot.regex);
}

// --- sizes -----------------------------------------------------------------------------------

std::size_t CodePointCount(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U; }));
}

// Size of the base64 payload once decoded: 3 bytes per 4 characters, minus '=' padding.
// Unpadded input is counted too; malformed input is the JSON reader's job to reject.
std::size_t DecodedBase64Size(std::string_view s) {
  const std::size_t n = s.size();
  std::size_t size = n / 4 * 3;
  if (n % 4 >= 2) size += n % 4 - 1;
  std::size_t padding = 0;
  if (n >= 1 && s[n - 1] == '=') padding = (n >= 2 && s[n - 2] == '=') ? 2 : 1;
  return size >= padding ? size - padding : 0;
}

std::string_view StringOf(const rapidjson::Value& v) {
  return {v.GetString(), v.GetStringLength()};
}

void AppendNumber(std::string& out, std::int64_t n) {
  std::array<char, 24> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), n);
  out.append(buffer.data(), result.ptr);
}

void AppendNumber(std::string& out, double d) {
  std::array<char, 32> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), d);
  out.append(buffer.data(), result.ptr);
}

// --- rules -----------------------------------------------------------------------------------

// One bit per rule; the bit order is the order violations of one value are reported in.
enum Rule : unsigned {
  kMinLength = 1U << 0U,
  kMaxLength = 1U << 1U,
  kMinValue = 1U << 2U,
  kMaxValue = 1U << 3U,
  kEnum = 1U << 4U,
  kPattern = 1U << 5U,
  kNotNull = 1U << 6U,
};
constexpr std::array kRuleOrder = {kMinLength, kMaxLength, kMinValue, kMaxValue,
                                   kEnum,      kPattern,   kNotNull};

unsigned LengthRules(const Shape& shape, std::size_t length) {
  unsigned failed = 0;
  const auto n = static_cast<std::int64_t>(length);
  if (shape.has_min && n < shape.min) failed |= kMinLength;
  if (shape.has_max && n > shape.max) failed |= kMaxLength;
  return failed;
}

// Length rules of a UTF-8 string, in code points. A string of n bytes has between n/4 and n
// code points; count them only when that range straddles a bound (rarely: ASCII-length
// strings well inside the bounds never need the count).
unsigned StringLengthRules(const Shape& shape, std::string_view s) {
  const auto bytes = static_cast<std::int64_t>(s.size());
  const bool min_ok = !shape.has_min || (bytes + 3) / 4 >= shape.min;
  const bool max_ok = !shape.has_max || bytes <= shape.max;
  if (min_ok && max_ok) return 0;
  return LengthRules(shape, CodePointCount(s));
}

bool InEnum(const Shape& shape, std::string_view value) {
  const auto values = kTables.enum_values.subspan(shape.enum_first, shape.enum_count);
  return std::find(values.begin(), values.end(), value) != values.end();
}

// Rules a correctly typed, non-null scalar breaks.
unsigned ScalarRules(const Shape& shape, const rapidjson::Value& v) {
  switch (shape.kind) {
    case ShapeKind::kString: {
      const std::string_view s = StringOf(v);
      unsigned failed = 0;
      if (shape.has_min || shape.has_max) failed |= StringLengthRules(shape, s);
      if (shape.enum_count != 0 && !InEnum(shape, s)) failed |= kEnum;
      if (shape.pattern != model::kNoPattern && !MatchesModelPattern(shape.pattern, s)) {
        failed |= kPattern;
      }
      return failed;
    }
    case ShapeKind::kBlob:
      return LengthRules(shape, DecodedBase64Size(StringOf(v)));
    case ShapeKind::kInteger: {
      unsigned failed = 0;
      if (shape.has_min && v.GetInt() < shape.min) failed |= kMinValue;
      if (shape.has_max && v.GetInt() > shape.max) failed |= kMaxValue;
      return failed;
    }
    default:
      return 0;
  }
}

void AppendRule(std::string& out, Rule rule, const Shape& shape) {
  switch (rule) {
    case kMinLength:
      out += "Member must have length greater than or equal to ";
      AppendNumber(out, shape.min);
      return;
    case kMaxLength:
      out += "Member must have length less than or equal to ";
      AppendNumber(out, shape.max);
      return;
    case kMinValue:
      out += "Member must have value greater than or equal to ";
      AppendNumber(out, shape.min);
      return;
    case kMaxValue:
      out += "Member must have value less than or equal to ";
      AppendNumber(out, shape.max);
      return;
    case kEnum: {
      out += "Member must satisfy enum value set: [";
      const auto values = kTables.enum_values.subspan(shape.enum_first, shape.enum_count);
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (i != 0) out += ", ";
        out += values[i];
      }
      out += ']';
      return;
    }
    case kPattern:
      out += "Member must satisfy regular expression pattern: ";
      out += kTables.patterns[shape.pattern];
      return;
    case kNotNull:
      out += "Member must not be null";
      return;
  }
}

// --- JSON types ------------------------------------------------------------------------------

bool TypeMatches(const Shape& shape, const rapidjson::Value& v) {
  switch (shape.kind) {
    case ShapeKind::kString:
    case ShapeKind::kBlob:
      return v.IsString();
    case ShapeKind::kInteger:
      return v.IsInt();
    case ShapeKind::kBoolean:
      return v.IsBool();
    case ShapeKind::kTimestamp:
      return v.IsNumber();
    case ShapeKind::kList:
      return v.IsArray();
    case ShapeKind::kMap:
    case ShapeKind::kStructure:
      return v.IsObject();
  }
  return false;
}

std::string_view TargetName(ShapeKind kind) {
  switch (kind) {
    case ShapeKind::kString:
      return "a String";
    case ShapeKind::kBlob:
      return "a Blob";
    case ShapeKind::kInteger:
      return "an Integer";
    case ShapeKind::kBoolean:
      return "a Boolean";
    case ShapeKind::kTimestamp:
      return "a Timestamp";
    case ShapeKind::kList:
      return "a List";
    case ShapeKind::kMap:
      return "a Map";
    case ShapeKind::kStructure:
      return "a Structure";
  }
  return "a Value";
}

// The SerializationException text for a JSON value of the wrong type. Members that are null
// never get here (null means absent); a body that is `null` does.
std::string TypeErrorMessage(const Shape& shape, const rapidjson::Value& v) {
  if (v.IsObject()) return "Start of structure or map found where not expected.";
  if (v.IsArray()) return "Start of list found where not expected";
  std::string message;
  if (v.IsString()) {
    message = "STRING_VALUE";
  } else if (v.IsNumber()) {
    message = "NUMBER_VALUE";
  } else if (v.IsNull()) {
    message = "NULL_VALUE";
  } else {
    message = v.IsTrue() ? "TRUE_VALUE" : "FALSE_VALUE";
  }
  message += " can not be converted to ";
  message += TargetName(shape.kind);
  return message;
}

const rapidjson::Value* FindMember(const rapidjson::Value& object, std::string_view name) {
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    if (StringOf(it->name) == name) return &it->value;
  }
  return nullptr;
}

// --- the walk --------------------------------------------------------------------------------

struct PathSegment {
  enum class Kind : std::uint8_t { kMember, kListIndex, kMapKey };
  Kind kind = Kind::kMember;
  std::string_view text;  // member name (lowerCamel) or map key
  std::size_t index = 0;  // 1-based list index
};

// What a violation shows as its value.
struct Shown {
  enum class Kind : std::uint8_t { kNull, kHidden, kString, kInteger, kScalarList };
  Kind kind = Kind::kHidden;
  const rapidjson::Value* value = nullptr;
};

class Checker {
 public:
  // Returns false after a wrong JSON type; serialization_error() then says which.
  bool Structure(const Shape& shape, const rapidjson::Value& object) {
    for (const Member& member : kTables.members.subspan(shape.member_first, shape.member_count)) {
      const rapidjson::Value* value = FindMember(object, member.name);
      const Shape& member_shape = kTables.shapes[member.shape];
      const PathScope scope(*this, {PathSegment::Kind::kMember, member.camel_name, 0});
      if (value == nullptr || value->IsNull()) {
        if (member.required) Violation({Shown::Kind::kNull}, kNotNull, member_shape, false);
        continue;
      }
      if (!CheckValue(member_shape, *value)) return false;
    }
    return true;
  }

  bool TypeError(const Shape& shape, const rapidjson::Value& v) {
    serialization_error_ = TypeErrorMessage(shape, v);
    return false;
  }

  std::string& serialization_error() { return serialization_error_; }

  RequestCheck Result() && {
    if (violation_count_ == 0) return {};
    RequestCheck check{RequestCheck::Kind::kValidation, {}};
    check.message.reserve(violations_.size() + 32);
    AppendNumber(check.message, static_cast<std::int64_t>(violation_count_));
    check.message +=
        violation_count_ == 1 ? " validation error detected: " : " validation errors detected: ";
    check.message += violations_;
    return check;
  }

 private:
  class PathScope {
   public:
    PathScope(Checker& checker, PathSegment segment) : checker_(checker) {
      if (checker_.depth_ == kMaxPathDepth) throw std::logic_error("model nests too deep");
      checker_.path_[checker_.depth_++] = segment;
    }
    ~PathScope() { --checker_.depth_; }
    PathScope(const PathScope&) = delete;
    PathScope& operator=(const PathScope&) = delete;

   private:
    Checker& checker_;
  };

  // `v` is not null.
  bool CheckValue(const Shape& shape, const rapidjson::Value& v) {
    if (!TypeMatches(shape, v)) return TypeError(shape, v);
    switch (shape.kind) {
      case ShapeKind::kStructure:
        return Structure(shape, v);
      case ShapeKind::kList:
        return List(shape, v);
      case ShapeKind::kMap:
        return Map(shape, v);
      default:
        Scalar(shape, v);
        return true;
    }
  }

  void Scalar(const Shape& shape, const rapidjson::Value& v) {
    const unsigned failed = ScalarRules(shape, v);
    if (failed == 0) return;
    Shown shown{Shown::Kind::kHidden, &v};
    if (!shape.sensitive && shape.kind == ShapeKind::kString) shown.kind = Shown::Kind::kString;
    if (!shape.sensitive && shape.kind == ShapeKind::kInteger) shown.kind = Shown::Kind::kInteger;
    for (const Rule rule : kRuleOrder) {
      if ((failed & rule) != 0) Violation(shown, rule, shape, false);
    }
  }

  bool List(const Shape& shape, const rapidjson::Value& array) {
    ReportRules(LengthRules(shape, array.Size()), shape);
    const Shape& element = kTables.shapes[shape.element];
    if (element.kind == ShapeKind::kStructure) {
      std::size_t index = 1;
      for (const rapidjson::Value& item : array.GetArray()) {
        const PathScope scope(*this, {PathSegment::Kind::kListIndex, {}, index++});
        if (item.IsNull()) {
          Violation({Shown::Kind::kNull}, kNotNull, element, false);
        } else if (!CheckValue(element, item)) {
          return false;
        }
      }
      return true;
    }
    // Scalar elements: one violation for the whole list, listing each rule broken.
    unsigned failed = 0;
    for (const rapidjson::Value& item : array.GetArray()) {
      if (item.IsNull()) {
        failed |= kNotNull;
      } else if (!TypeMatches(element, item)) {
        return TypeError(element, item);
      } else {
        failed |= ScalarRules(element, item);
      }
    }
    if (failed != 0) {
      const bool hide = element.sensitive || element.kind == ShapeKind::kBlob;
      Violation({hide ? Shown::Kind::kHidden : Shown::Kind::kScalarList, &array}, failed, element,
                true);
    }
    return true;
  }

  bool Map(const Shape& shape, const rapidjson::Value& object) {
    ReportRules(LengthRules(shape, object.MemberCount()), shape);
    const Shape& value_shape = kTables.shapes[shape.element];
    for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
      const PathScope scope(*this, {PathSegment::Kind::kMapKey, StringOf(it->name), 0});
      if (it->value.IsNull()) {
        Violation({Shown::Kind::kNull}, kNotNull, value_shape, false);
      } else if (!CheckValue(value_shape, it->value)) {
        return false;
      }
    }
    return true;
  }

  // Length rules of a list or map: the value is not shown.
  void ReportRules(unsigned failed, const Shape& shape) {
    for (const Rule rule : kRuleOrder) {
      if ((failed & rule) != 0) Violation({Shown::Kind::kHidden}, rule, shape, false);
    }
  }

  // Appends one violation. `rules` is one Rule, or with `nested` the set broken by list
  // elements, written as "Member must satisfy constraint: [<rule>, <rule>]".
  void Violation(const Shown& shown, unsigned rules, const Shape& shape, bool nested) {
    if (violation_count_++ != 0) violations_ += "; ";
    violations_ += "Value";
    AppendShown(shown);
    violations_ += " at '";
    AppendPath();
    violations_ += "' failed to satisfy constraint: ";
    if (nested) violations_ += "Member must satisfy constraint: [";
    bool first = true;
    for (const Rule rule : kRuleOrder) {
      if ((rules & rule) == 0) continue;
      if (!first) violations_ += ", ";
      first = false;
      AppendRule(violations_, rule, shape);
    }
    if (nested) violations_ += ']';
  }

  void AppendShown(const Shown& shown) {
    switch (shown.kind) {
      case Shown::Kind::kNull:
        violations_ += " null";
        return;
      case Shown::Kind::kHidden:
        return;
      case Shown::Kind::kString:
      case Shown::Kind::kInteger:
        violations_ += " '";
        AppendScalar(*shown.value);
        violations_ += '\'';
        return;
      case Shown::Kind::kScalarList: {
        // Java's List.toString(): [a, b, null]
        violations_ += " '[";
        bool first = true;
        for (const rapidjson::Value& item : shown.value->GetArray()) {
          if (!first) violations_ += ", ";
          first = false;
          AppendScalar(item);
        }
        violations_ += "]'";
        return;
      }
    }
  }

  void AppendScalar(const rapidjson::Value& v) {
    if (v.IsString()) {
      violations_ += StringOf(v);
    } else if (v.IsInt64()) {
      AppendNumber(violations_, v.GetInt64());
    } else if (v.IsNumber()) {
      AppendNumber(violations_, v.GetDouble());
    } else if (v.IsBool()) {
      violations_ += v.GetBool() ? "true" : "false";
    } else {
      violations_ += "null";
    }
  }

  void AppendPath() {
    for (std::size_t i = 0; i < depth_; ++i) {
      const PathSegment& segment = path_[i];
      if (i != 0) violations_ += '.';
      if (segment.kind == PathSegment::Kind::kListIndex) {
        AppendNumber(violations_, static_cast<std::int64_t>(segment.index));
        violations_ += ".member";
      } else {
        violations_ += segment.text;
      }
    }
  }

  std::array<PathSegment, kMaxPathDepth> path_{};
  std::size_t depth_ = 0;
  std::size_t violation_count_ = 0;
  std::string violations_;
  std::string serialization_error_;
};

const model::Operation* FindOperation(std::string_view name) {
  const auto ops = kTables.operations;
  const auto it = std::lower_bound(
      ops.begin(), ops.end(), name,
      [](const model::Operation& op, std::string_view key) { return op.name < key; });
  return (it != ops.end() && it->name == name) ? &*it : nullptr;
}

}  // namespace

RequestCheck CheckRequest(std::string_view operation, const rapidjson::Value& body) {
  const model::Operation* op = FindOperation(operation);
  if (op == nullptr) return {RequestCheck::Kind::kUnknownOperation, {}};
  const Shape& input = kTables.shapes[op->input];
  Checker checker;
  if (!body.IsObject()) {
    checker.TypeError(input, body);
    return {RequestCheck::Kind::kSerialization, std::move(checker.serialization_error())};
  }
  if (!checker.Structure(input, body)) {
    return {RequestCheck::Kind::kSerialization, std::move(checker.serialization_error())};
  }
  return std::move(checker).Result();
}

bool InputHasMember(std::string_view operation, std::string_view member) {
  const model::Operation* op = FindOperation(operation);
  if (op == nullptr) return false;
  const Shape& input = kTables.shapes[op->input];
  const auto members = kTables.members.subspan(input.member_first, input.member_count);
  return std::any_of(members.begin(), members.end(),
                     [member](const model::Member& m) { return m.name == member; });
}

bool IsKnownOperation(std::string_view operation) { return FindOperation(operation) != nullptr; }

std::span<const std::string_view> OperationNames() { return kTables.operation_names; }

bool MatchesModelPattern(std::size_t pattern_index, std::string_view value) {
  CompiledPattern& slot = PatternSlot(pattern_index);
  std::call_once(slot.class_once, [&slot, pattern_index] {
    slot.class_pattern = ClassPattern::Parse(kTables.patterns[pattern_index]);
  });
  if (slot.class_pattern) return slot.class_pattern->Matches(value);
  return RegexMatches(slot, pattern_index, value);
}

bool MatchesModelPatternWithRegex(std::size_t pattern_index, std::string_view value) {
  return RegexMatches(PatternSlot(pattern_index), pattern_index, value);
}

}  // namespace kms::server
