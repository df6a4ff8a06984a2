#include "server/protocol/json_io.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "crypto/base64.hpp"

namespace kms::server {

bool JsonNestingExceeds(std::string_view body, int limit) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // skip the escaped character
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}
namespace {

// Objects with at most this many members are checked for a repeated name pair by pair: at most
// 120 comparisons, most ending at the length, and no allocation. Every request kmsd's clients
// send on the hot path (Encrypt, Decrypt, GenerateDataKey: about five members) is one of these.
constexpr rapidjson::SizeType kPairwiseMemberLimit = 16;

std::string_view NameOf(const rapidjson::Value::Member& member) {
  return {member.name.GetString(), member.name.GetStringLength()};
}

// A member name that `object` (a JSON object) holds twice, if any.
std::optional<std::string_view> RepeatedName(const rapidjson::Value& object) {
  const rapidjson::SizeType count = object.MemberCount();
  if (count < 2) return std::nullopt;
  const auto members = object.MemberBegin();
  if (count <= kPairwiseMemberLimit) {
    for (rapidjson::SizeType i = 1; i < count; ++i) {
      const std::string_view name = NameOf(members[i]);
      for (rapidjson::SizeType j = 0; j < i; ++j) {
        if (NameOf(members[j]) == name) return name;
      }
    }
    return std::nullopt;
  }
  std::vector<std::string_view> names;
  names.reserve(count);
  for (rapidjson::SizeType i = 0; i < count; ++i) names.push_back(NameOf(members[i]));
  std::sort(names.begin(), names.end());
  const auto repeated = std::adjacent_find(names.begin(), names.end());
  if (repeated == names.end()) return std::nullopt;
  return *repeated;
}

bool IsJsonWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::optional<std::string_view> FindDuplicateMemberName(const rapidjson::Value& value) {
  if (value.IsObject()) {
    if (auto name = RepeatedName(value)) return name;
    for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
      if (auto name = FindDuplicateMemberName(it->value)) return name;
    }
  } else if (value.IsArray()) {
    for (const rapidjson::Value& element : value.GetArray()) {
      if (auto name = FindDuplicateMemberName(element)) return name;
    }
  }
  return std::nullopt;
}

Result<void> CheckParsedRequest(std::string_view tail, const rapidjson::Value& root) {
  if (!std::all_of(tail.begin(), tail.end(), IsJsonWhitespace)) {
    // RapidJSON's own text for `{} {}`, used for every byte after the value, NUL included.
    return KmsError::Serialization(
        rapidjson::GetParseError_En(rapidjson::kParseErrorDocumentRootNotSingular));
  }
  // A repeated name makes a request mean two things: RapidJSON's FindMember (JsonIn, the model
  // check) takes the first, a map reader the last, and another JSON library may pick either.
  // AWS's own text for this is not known; this one names the member.
  if (auto name = FindDuplicateMemberName(root)) {
    return KmsError::Serialization("Duplicate member name \"" + std::string(*name) +
                                   "\" in a JSON object");
  }
  return {};
}

namespace {

KmsError MissingMember(std::string_view name) {
  return KmsError::Validation("1 validation error detected: Value null at '" + LowerCamel(name) +
                              "' failed to satisfy constraint: Member must not be null");
}

KmsError BadBase64(std::string_view name) {
  return KmsError::Serialization("Invalid base64 in member '" + std::string(name) + "'");
}

// True when RapidJSON's writer would copy `text` between the quotes unchanged: it escapes
// only control characters, '"' and '\\' when writing UTF-8 as UTF-8 (writer.h, `escape`).
// Such text (ARNs, ids, names, enum values: nearly every string kmsd writes) is appended
// directly, skipping the writer's per-character escape loop, the largest single cost of
// writing a response.
bool NeedsNoEscaping(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\';
  });
}

rapidjson::Value::StringRefType Ref(std::string_view s) {
  return {s.data(), static_cast<rapidjson::SizeType>(s.size())};
}

}  // namespace

std::string LowerCamel(std::string_view member) {
  std::string out(member);
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

const rapidjson::Value* JsonIn::Find(std::string_view name) const {
  if (!object_.IsObject()) return nullptr;
  auto it = object_.FindMember(Ref(name));
  if (it == object_.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

Result<std::string_view> JsonIn::RequiredString(std::string_view name) const {
  auto value = OptionalString(name);
  if (!value) return MissingMember(name);
  return *value;
}

std::optional<std::string_view> JsonIn::OptionalString(std::string_view name) const {
  const rapidjson::Value* v = Find(name);
  if (v == nullptr || !v->IsString()) return std::nullopt;
  return std::string_view(v->GetString(), v->GetStringLength());
}

std::optional<std::int64_t> JsonIn::OptionalInt(std::string_view name) const {
  const rapidjson::Value* v = Find(name);
  if (v == nullptr || !v->IsInt64()) return std::nullopt;
  return v->GetInt64();
}

std::optional<bool> JsonIn::OptionalBool(std::string_view name) const {
  const rapidjson::Value* v = Find(name);
  if (v == nullptr || !v->IsBool()) return std::nullopt;
  return v->GetBool();
}

std::optional<double> JsonIn::OptionalNumber(std::string_view name) const {
  const rapidjson::Value* v = Find(name);
  if (v == nullptr || !v->IsNumber()) return std::nullopt;
  return v->GetDouble();
}

Result<crypto::Bytes> JsonIn::RequiredBlob(std::string_view name) const {
  auto text = OptionalString(name);
  if (!text) return MissingMember(name);
  auto bytes = crypto::Base64Decode(*text);
  if (!bytes) return BadBase64(name);
  return std::move(*bytes);
}

Result<std::optional<crypto::Bytes>> JsonIn::OptionalBlob(std::string_view name) const {
  auto text = OptionalString(name);
  if (!text) return std::optional<crypto::Bytes>{};
  auto bytes = crypto::Base64Decode(*text);
  if (!bytes) return BadBase64(name);
  return std::optional<crypto::Bytes>(std::move(*bytes));
}

Result<crypto::SecureBytes> JsonIn::RequiredSecretBlob(std::string_view name) const {
  KMS_ASSIGN_OR_RETURN(crypto::Bytes bytes, RequiredBlob(name));
  crypto::SecureBytes secret(bytes);
  crypto::SecureBytes scrub(bytes.size());  // overwrite the plain copy before it is freed
  std::copy(scrub.begin(), scrub.end(), bytes.begin());
  return secret;
}

Result<crypto::EncryptionContext> JsonIn::OptionalStringMap(std::string_view name) const {
  crypto::EncryptionContext out;
  const rapidjson::Value* v = Find(name);
  if (v == nullptr) return out;
  if (!v->IsObject())
    return KmsError::Serialization("Expected a map for member '" + std::string(name) + "'");
  for (const auto& m : v->GetObject()) {
    if (!m.value.IsString()) {
      return KmsError::Serialization("Expected a string value in map '" + std::string(name) + "'");
    }
    out.insert_or_assign(std::string(m.name.GetString(), m.name.GetStringLength()),
                         std::string(m.value.GetString(), m.value.GetStringLength()));
  }
  return out;
}

std::vector<std::string_view> JsonIn::OptionalStringList(std::string_view name) const {
  std::vector<std::string_view> out;
  const rapidjson::Value* v = Find(name);
  if (v == nullptr || !v->IsArray()) return out;
  for (const auto& e : v->GetArray()) {
    if (e.IsString()) out.emplace_back(e.GetString(), e.GetStringLength());
  }
  return out;
}

std::vector<JsonIn> JsonIn::OptionalObjectList(std::string_view name) const {
  std::vector<JsonIn> out;
  const rapidjson::Value* v = Find(name);
  if (v == nullptr || !v->IsArray()) return out;
  for (const auto& e : v->GetArray()) {
    if (e.IsObject()) out.emplace_back(e);
  }
  return out;
}

JsonOut::JsonOut()
    : sink_(out_),
      level_allocator_(level_buffer_, sizeof level_buffer_),
      writer_(sink_, &level_allocator_, /*levelDepth=*/8) {
  out_.reserve(512);  // most responses fit: one allocation per body
  writer_.StartObject();
}

void JsonOut::Key(std::string_view key) {
  if (!NeedsNoEscaping(key)) {
    writer_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    return;
  }
  OpenRawString();
  out_.append(key);
  out_.push_back('"');
}

void JsonOut::StringValue(std::string_view value) {
  if (!NeedsNoEscaping(value)) {
    writer_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    return;
  }
  OpenRawString();
  out_.append(value);
  out_.push_back('"');
}

void JsonOut::OpenRawString() {
  // RawValue does the writer's bookkeeping (the ',' or ':' before the value, which member
  // comes next) and writes the opening quote. The writer buffers nothing, so what is then
  // appended to out_ lands right after that quote.
  writer_.RawValue("\"", 1, rapidjson::kStringType);
}

void JsonOut::String(std::string_view key, std::string_view value) {
  Key(key);
  StringValue(value);
}

void JsonOut::Blob(std::string_view key, crypto::ByteView value) {
  Key(key);
  // Base64 never needs JSON escaping, so the text is encoded straight into the body rather
  // than into a temporary and then copied through the writer's per-character escape check.
  OpenRawString();
  crypto::Base64EncodeAppend(value, out_);
  out_.push_back('"');
}

void JsonOut::Int(std::string_view key, std::int64_t value) {
  Key(key);
  writer_.Int64(value);
}

void JsonOut::Bool(std::string_view key, bool value) {
  Key(key);
  writer_.Bool(value);
}

void JsonOut::Timestamp(std::string_view key, std::int64_t epoch_seconds) {
  Int(key, epoch_seconds);
}

namespace {
// "key": [values...] for any range of strings.
template <typename Strings>
void WriteStringList(JsonOut& out, std::string_view key, const Strings& values) {
  out.Key(key);
  out.StartArray();
  for (const auto& v : values) out.StringValue(v);
  out.EndArray();
}
}  // namespace

void JsonOut::StringList(std::string_view key, const std::vector<std::string>& values) {
  WriteStringList(*this, key, values);
}

void JsonOut::StringList(std::string_view key, std::span<const std::string_view> values) {
  WriteStringList(*this, key, values);
}

std::string JsonOut::Finish() {
  writer_.EndObject();
  return std::move(out_);
}

}  // namespace kms::server
