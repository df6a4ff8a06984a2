// File: fuzz_json.cpp
//
// libFuzzer harness for the request reader: RapidJSON parsing as the dispatcher does it, model
// validation (server/protocol/validation.hpp: CheckRequest) and every JsonIn accessor
// (server/protocol/json_io.hpp), plus JsonOut writing back what was read.
//
// Input: the first byte picks the operation (modulo the 54 names of OperationNames()); the
// rest is the request body.
//
// Invariants (abort on failure; an uncaught exception, e.g. a RapidJSON assertion, is a crash
// too): a body ParseRequestBody accepts repeats no member name in any object (issue #17);
// CheckRequest gives a message exactly for kSerialization/kValidation; on an accepted
// body, JsonIn's readers never throw whatever the member types; a string read back through
// JsonOut round-trips exactly; a decoded blob re-encodes to the same bytes; the pattern
// scanner and std::wregex agree on every model pattern for every string read.
// Single-threaded.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "crypto/base64.hpp"
#include "server/protocol/json_io.hpp"
#include "server/protocol/model_table.hpp"
#include "server/protocol/validation.hpp"

namespace {

namespace server = kms::server;

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_json: invariant failed: %s\n", what);
  std::abort();
}

// The pattern scanner agrees with std::wregex on every model pattern (validation.hpp:
// MatchesModelPatternWithRegex exists for this cross-check). Short strings only: the regex
// is slow, and a difference shows on a short string as well as on a long one.
void CrossCheckPatterns(std::string_view value) {
  if (value.size() > 64) return;
  const std::size_t count = kms::server::model::kTables.patterns.size();
  for (std::size_t p = 0; p < count; ++p) {
    if (server::MatchesModelPattern(p, value) != server::MatchesModelPatternWithRegex(p, value)) {
      std::fprintf(stderr, "fuzz_json: pattern %zu disagrees on %zu bytes\n", p, value.size());
      std::abort();
    }
  }
}

// A string written by JsonOut parses back to the same bytes.
void RoundTripString(std::string_view name, std::string_view value) {
  server::JsonOut out;
  out.String(name, value);
  const std::string written = out.Finish();
  rapidjson::Document doc;
  doc.Parse(written.data(), written.size());
  Check(!doc.HasParseError() && doc.IsObject() && doc.MemberCount() == 1,
        "JsonOut wrote invalid JSON");
  const auto& member = *doc.MemberBegin();
  Check(std::string_view(member.name.GetString(), member.name.GetStringLength()) == name,
        "JsonOut changed a member name");
  Check(member.value.IsString() &&
            std::string_view(member.value.GetString(), member.value.GetStringLength()) == value,
        "JsonOut changed a string value");
}

// No object in `value` holds two members of one name: each member is the one FindMember finds
// by its name. (ParseRequestBody promises this; here it is checked the slow, obvious way.)
void CheckUniqueNames(const rapidjson::Value& value) {
  if (value.IsObject()) {
    for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
      Check(&*value.FindMember(it->name) == &*it, "an accepted body repeats a member name");
      CheckUniqueNames(it->value);
    }
  } else if (value.IsArray()) {
    for (const rapidjson::Value& element : value.GetArray()) CheckUniqueNames(element);
  }
}

// Every accessor on member `name` of `in`; none may throw.
void ReadAll(const server::JsonIn& in, std::string_view name, int depth) {
  (void)in.Has(name);
  auto text = in.OptionalString(name);
  auto required = in.RequiredString(name);
  Check(text.has_value() == required.has_value(), "OptionalString and RequiredString disagree");
  if (text) {
    RoundTripString(name, *text);
    CrossCheckPatterns(*text);
  }
  (void)in.OptionalInt(name);
  (void)in.OptionalBool(name);
  (void)in.OptionalNumber(name);

  auto blob = in.RequiredBlob(name);
  auto optional_blob = in.OptionalBlob(name);
  auto secret = in.RequiredSecretBlob(name);
  Check(blob.has_value() == secret.has_value(), "RequiredBlob and RequiredSecretBlob disagree");
  if (blob) {
    Check(optional_blob.has_value() && optional_blob->has_value() && **optional_blob == *blob,
          "OptionalBlob and RequiredBlob disagree");
    // Decoding accepts only the canonical encoding, so encoding gives the text back.
    Check(kms::crypto::Base64Encode(*blob) == *text,
          "a decoded blob does not re-encode to its text");
    Check(kms::crypto::Base64DecodedSize(*text) == blob->size(),
          "Base64DecodedSize differs from the decoded size");
  }

  auto map = in.OptionalStringMap(name);
  if (map) {
    for (const auto& [k, v] : *map) RoundTripString(k, v);
  }
  for (std::string_view s : in.OptionalStringList(name)) RoundTripString(name, s);
  const std::vector<server::JsonIn> objects = in.OptionalObjectList(name);
  const rapidjson::Value* list = in.Find(name);
  std::size_t object_count = 0;
  if (list != nullptr && list->IsArray()) {
    for (const auto& e : list->GetArray()) {
      if (!e.IsObject()) continue;
      ++object_count;
      if (depth >= 4) continue;
      const server::JsonIn element(e);
      for (const auto& m : e.GetObject()) {
        ReadAll(element, std::string_view(m.name.GetString(), m.name.GetStringLength()), depth + 1);
      }
    }
  }
  Check(objects.size() == object_count, "OptionalObjectList lost or invented an element");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto names = server::OperationNames();
  const std::string_view operation = names[data[0] % names.size()];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  Check(server::IsKnownOperation(operation), "an OperationNames() entry is not known");

  // As Dispatcher::Run parses.
  rapidjson::Document doc;
  if (!server::ParseRequestBody(body, doc)) return 0;
  CheckUniqueNames(doc);

  const server::RequestCheck check = server::CheckRequest(operation, doc);
  using Kind = server::RequestCheck::Kind;
  Check(check.kind != Kind::kUnknownOperation, "a known operation was called unknown");
  Check(check.message.empty() == (check.kind == Kind::kOk),
        "a rejection without a message, or an acceptance with one");
  if (check.kind != Kind::kOk) return 0;
  Check(doc.IsObject(), "CheckRequest accepted a body that is not an object");

  // As the handlers read: JsonIn over the accepted body, any accessor on any member.
  const rapidjson::Value& object = doc;  // const iterators: C++20-unambiguous comparisons
  const server::JsonIn in(object);
  for (const auto& m : object.GetObject()) {
    ReadAll(in, std::string_view(m.name.GetString(), m.name.GetStringLength()), 0);
  }
  ReadAll(in, "KeyId", 0);  // absent members too
  return 0;
}
