// File: json_io.hpp
//
// JsonIn: typed, checked reads of a request body. Every read of client JSON goes
// through it. The dispatcher has already checked the body against the service model
// (validation.hpp), so members have the modelled JSON types; JsonIn still checks each
// type before reading, because RapidJSON's Get*() only asserts.
//
// JsonOut: the response writer. Blobs are written as base64, timestamps as epoch seconds.
//
// Thread-safety: one instance per request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/writer.h>

#include "crypto/bytes.hpp"
#include "crypto/encryption_context.hpp"
#include "server/protocol/result.hpp"

namespace kms::server {

// Requests never nest deeper than a few levels; deeper bodies are refused before parsing, so
// neither the parser nor the recursive destruction of a Document can exhaust the stack.
inline constexpr int kMaxRequestJsonDepth = 32;

// True if `body` opens more than `limit` objects/arrays inside one another (strings skipped).
bool JsonNestingExceeds(std::string_view body, int limit);

// The first member name that occurs twice in one JSON object anywhere in `value` (depth first;
// names compare byte-exactly after unescaping, so {"a":1,"\u0061":2} repeats "a"), or nullopt.
// Objects of up to 16 members are checked pairwise without allocating; larger ones by sorting
// views of their names, so a body of one object with 100k members costs O(n log n).
// `value` must nest at most kMaxRequestJsonDepth levels (as ParseRequestBody ensures): the walk
// recurses once per level.
std::optional<std::string_view> FindDuplicateMemberName(const rapidjson::Value& value);

// The checks ParseRequestBody makes on a parsed body: `tail` (the bytes after the root value)
// holds only JSON whitespace, and no object of `root` repeats a member name.
// Errors: SerializationException.
Result<void> CheckParsedRequest(std::string_view tail, const rapidjson::Value& root);

// Parses a request body into `doc` the one way kmsd does: an empty body is an empty request
// (`{}`, as AWS treats it); too deep a body is refused unparsed; the parse is iterative
// (bounded stack) and validates UTF-8 (invalid text is rejected, never stored). The body must
// be exactly one JSON value: anything but whitespace after it (`{} {}`, `{}x`, a NUL byte) is
// refused, and so is a member name repeated in any object (see CheckParsedRequest).
// Errors: SerializationException with the reason.
template <class Document>
Result<void> ParseRequestBody(std::string_view body, Document& doc) {
  if (body.empty()) {
    doc.SetObject();
    return {};
  }
  if (JsonNestingExceeds(body, kMaxRequestJsonDepth)) {
    return KmsError::Serialization("JSON nesting exceeds " + std::to_string(kMaxRequestJsonDepth) +
                                   " levels");
  }
  // kParseStopWhenDoneFlag: RapidJSON stops right after the root value and the rest of the body
  // is checked here. Without it RapidJSON checks the rest itself, but its MemoryStream reads as
  // '\0' at the end of the input, so a NUL byte passed for the end: `{"KeyId":"x"}\0junk`
  // was accepted. (The UTF-8 stream skips a leading byte order mark, as Parse() does.)
  rapidjson::MemoryStream bytes(body.data(), body.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> input(bytes);
  doc.template ParseStream<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag |
                               rapidjson::kParseStopWhenDoneFlag,
                           rapidjson::UTF8<>>(input);
  if (doc.HasParseError()) {
    return KmsError::Serialization(rapidjson::GetParseError_En(doc.GetParseError()));
  }
  return CheckParsedRequest(body.substr(bytes.Tell()), doc);
}

class JsonIn {
 public:
  // `object` must outlive this JsonIn and every string_view it hands out.
  explicit JsonIn(const rapidjson::Value& object) : object_(object) {}

  // True when the member is present and not JSON null.
  bool Has(std::string_view name) const { return Find(name) != nullptr; }

  // Missing -> ValidationException "Value null at '<name>' ... must not be null".
  Result<std::string_view> RequiredString(std::string_view name) const;
  std::optional<std::string_view> OptionalString(std::string_view name) const;
  std::optional<std::int64_t> OptionalInt(std::string_view name) const;
  std::optional<bool> OptionalBool(std::string_view name) const;
  std::optional<double> OptionalNumber(std::string_view name) const;

  // Base64-decoded blob; bad base64 -> SerializationException.
  Result<crypto::Bytes> RequiredBlob(std::string_view name) const;
  Result<std::optional<crypto::Bytes>> OptionalBlob(std::string_view name) const;
  // The same for secrets (plaintext), cleansed when released.
  Result<crypto::SecureBytes> RequiredSecretBlob(std::string_view name) const;

  // A map of string to string (EncryptionContext); absent -> empty.
  Result<crypto::EncryptionContext> OptionalStringMap(std::string_view name) const;
  // A list of strings (GrantTokens, TagKeys); absent -> empty.
  std::vector<std::string_view> OptionalStringList(std::string_view name) const;
  // A list of structures (Tags); absent -> empty. Each element is a JSON object.
  std::vector<JsonIn> OptionalObjectList(std::string_view name) const;

  // The raw member, or nullptr when absent or null.
  const rapidjson::Value* Find(std::string_view name) const;

 private:
  const rapidjson::Value& object_;
};

// The lowerCamel name AWS uses in validation messages: "NumberOfBytes" -> "numberOfBytes".
std::string LowerCamel(std::string_view member);

// A RapidJSON output stream that appends to a std::string, so the finished body is moved
// into the Reply instead of being copied out of a rapidjson::StringBuffer. (The Writer's
// PutReserve hint is left at RapidJSON's no-op default: it asks for 6x each string's length,
// which would make std::string reallocate for nothing.)
class StringSink {
 public:
  using Ch = char;
  explicit StringSink(std::string& out) : out_(out) {}
  void Put(char c) { out_.push_back(c); }
  void Flush() {}

 private:
  std::string& out_;
};

class JsonOut {
 public:
  JsonOut();
  // The writer points into the object itself.
  JsonOut(const JsonOut&) = delete;
  JsonOut& operator=(const JsonOut&) = delete;

  // Members of the current object.
  void String(std::string_view key, std::string_view value);
  void Blob(std::string_view key, crypto::ByteView value);
  void Int(std::string_view key, std::int64_t value);
  void Bool(std::string_view key, bool value);
  void Timestamp(std::string_view key, std::int64_t epoch_seconds);
  void StringList(std::string_view key, const std::vector<std::string>& values);
  void StringList(std::string_view key, std::span<const std::string_view> values);

  // Nested values: Key() then StartObject()/StartArray() or a bare value.
  void Key(std::string_view key);
  void StartObject() { writer_.StartObject(); }
  void EndObject() { writer_.EndObject(); }
  void StartArray() { writer_.StartArray(); }
  void EndArray() { writer_.EndArray(); }
  void StringValue(std::string_view value);

  // Closes the top-level object and returns the body. Call once.
  std::string Finish();

 private:
  using LevelAllocator = rapidjson::MemoryPoolAllocator<>;

  // Starts a string value (or member name) whose text the caller appends to out_ unescaped,
  // followed by the closing quote. Strings that need no escaping are written this way.
  void OpenRawString();

  std::string out_;
  StringSink sink_;
  // The writer's stack of open objects/arrays lives in this inline buffer (it spills to the
  // heap only past about a dozen levels), instead of a malloc per response.
  alignas(std::max_align_t) char level_buffer_[512];
  LevelAllocator level_allocator_;
  rapidjson::Writer<StringSink, rapidjson::UTF8<>, rapidjson::UTF8<>, LevelAllocator> writer_;
};

}  // namespace kms::server
