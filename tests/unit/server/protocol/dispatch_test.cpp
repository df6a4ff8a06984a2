#include "server/protocol/dispatch.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/unit/server/ops/op_harness.hpp"

using kms::server::Dispatcher;
using kms::server::OperationTable;
using kms::server::RegionFromAuthorization;
using kms::testing::CallResult;
using kms::testing::KeyIdBody;
using kms::testing::OpHarness;

namespace {
std::vector<std::string> ModelOperations() {
  const char* root = std::getenv("KMSD_SOURCE_DIR");
  REQUIRE(root != nullptr);
  std::ifstream file(std::string(root) + "/tests/data/kms_operations.txt");
  REQUIRE(file.good());
  std::vector<std::string> names;
  for (std::string line; std::getline(file, line);) {
    if (!line.empty()) names.push_back(line);
  }
  return names;
}
}  // namespace

TEST_CASE("The dispatch table is sorted and holds exactly the model's 54 operations",
          "[server][dispatch]") {
  auto table = OperationTable();
  std::vector<std::string> names;
  for (const auto& e : table) names.emplace_back(e.name);
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(names == ModelOperations());
  CHECK(names.size() == 54);
}

// README's Operations table, kept by hand: (operation names cell, status cell) per row. A
// "Create/Describe/DisconnectCustomKeyStore" cell names CreateCustomKeyStore and so on.
std::vector<std::pair<std::string, std::string>> ReadmeOperationRows() {
  const char* root = std::getenv("KMSD_SOURCE_DIR");
  REQUIRE(root != nullptr);
  std::ifstream file(std::string(root) + "/README.md");
  REQUIRE(file.good());
  std::vector<std::pair<std::string, std::string>> rows;
  bool in_table = false;
  for (std::string line; std::getline(file, line);) {
    if (line.starts_with("## ")) in_table = line == "## Operations";
    if (!in_table || !line.starts_with("| ") || line.starts_with("| family") ||
        line.starts_with("|---")) {
      continue;
    }
    std::vector<std::string> cells;
    for (std::size_t at = 1; at < line.size();) {
      const std::size_t bar = line.find('|', at);
      if (bar == std::string::npos) break;
      std::string cell = line.substr(at, bar - at);
      cell.erase(0, cell.find_first_not_of(' '));
      cell.erase(cell.find_last_not_of(' ') + 1);
      cells.push_back(cell);
      at = bar + 1;
    }
    if (cells.size() == 3) rows.emplace_back(cells[1], cells[2]);
  }
  return rows;
}

// Whether `cell` names `op`: as a whole word, or in a slash list sharing its last word's
// suffix ("Create/Describe/.../DisconnectCustomKeyStore").
bool NamesOperation(const std::string& cell, const std::string& op) {
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  for (std::size_t at = cell.find(op); at != std::string::npos; at = cell.find(op, at + 1)) {
    const bool starts = at == 0 || !is_word(cell[at - 1]);
    const bool ends = at + op.size() == cell.size() || !is_word(cell[at + op.size()]);
    if (starts && ends) return true;
  }
  const std::string suffix = "CustomKeyStore";
  const std::size_t split = op.find(suffix);
  if (split == std::string::npos || split == 0) return false;
  const std::string verb = op.substr(0, split);
  return cell.find(suffix) != std::string::npos &&
         (cell.find(verb + "/") != std::string::npos ||
          cell.find("/" + verb + suffix) != std::string::npos);
}

TEST_CASE("README's Operations table says implemented exactly for the rows with a handler",
          "[server][dispatch]") {
  const auto rows = ReadmeOperationRows();
  REQUIRE(rows.size() >= 10);
  for (const auto& entry : OperationTable()) {
    const std::string op(entry.name);
    CAPTURE(op);
    std::vector<std::string> statuses;
    for (const auto& [names, status] : rows) {
      if (NamesOperation(names, op)) statuses.push_back(status);
    }
    REQUIRE_FALSE(statuses.empty());  // every model operation is in the table
    for (const std::string& status : statuses) {
      CAPTURE(status);
      CHECK(status.starts_with("implemented") == (entry.fn != nullptr));
    }
  }
}

TEST_CASE("MayBlock: key-pair generation runs off the io thread, a symmetric CreateKey does not",
          "[server][dispatch]") {
  // GenerateDataKeyPair* always generate a key pair.
  CHECK(Dispatcher::MayBlock("TrentService.GenerateDataKeyPair", "{}"));
  CHECK(Dispatcher::MayBlock("TrentService.GenerateDataKeyPairWithoutPlaintext", "{}"));
  // CreateKey only when the body may name a key spec.
  CHECK_FALSE(Dispatcher::MayBlock("TrentService.CreateKey", "{}"));
  CHECK_FALSE(Dispatcher::MayBlock("TrentService.CreateKey", R"({"Description":"d","Tags":[]})"));
  CHECK(Dispatcher::MayBlock("TrentService.CreateKey", R"({"KeySpec":"RSA_4096"})"));
  CHECK(Dispatcher::MayBlock("TrentService.CreateKey", R"({"CustomerMasterKeySpec":"RSA_2048"})"));
  // An escape could spell "KeySpec" (\u004beySpec): assume it does.
  CHECK(Dispatcher::MayBlock("TrentService.CreateKey", R"({"\u004beySpec":"RSA_4096"})"));
  // Import: a wrapping key pair to generate, an RSA private-key operation to unwrap.
  CHECK(Dispatcher::MayBlock("TrentService.GetParametersForImport", "{}"));
  CHECK(Dispatcher::MayBlock("TrentService.ImportKeyMaterial", "{}"));
  CHECK_FALSE(Dispatcher::MayBlock("TrentService.DeleteImportedKeyMaterial", "{}"));
  // Everything else answers on the io thread, as do unknown targets.
  CHECK_FALSE(Dispatcher::MayBlock("TrentService.Encrypt", R"({"KeySpec":"RSA_4096"})"));
  CHECK_FALSE(Dispatcher::MayBlock("TrentService.NoSuchOperation", "{}"));
  CHECK_FALSE(Dispatcher::MayBlock("CreateKey", R"({"KeySpec":"RSA_4096"})"));
}

TEST_CASE("Unknown targets are UnknownOperationException", "[server][dispatch]") {
  OpHarness h;
  for (const char* target : {"TrentService.NoSuchOperation", "CreateKey", "", "TrentService.",
                             "OtherService.CreateKey", "TrentService.createkey"}) {
    INFO(target);
    auto r = h.CallTarget(target, "{}");
    CHECK(r.status == 400);
    CHECK(r.type == "UnknownOperationException");
  }
}

TEST_CASE("Malformed JSON and non-object bodies are SerializationException", "[server][dispatch]") {
  OpHarness h;
  for (const char* body : {"{", "[1,2]", "\"x\"", "{\"KeyId\": }", "{} trailing"}) {
    INFO(body);
    auto r = h.Call("DescribeKey", body);
    CHECK(r.status == 400);
    CHECK(r.type == "SerializationException");
  }
}

TEST_CASE("Model validation runs before the handler", "[server][dispatch]") {
  OpHarness h;
  auto r = h.Call("GenerateRandom", R"({"NumberOfBytes":0})");
  CHECK(r.status == 400);
  CHECK(r.type == "ValidationException");
  CHECK(r.message ==
        "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1");
}

TEST_CASE("Every operation of the service model has a handler and none says it is missing",
          "[server][dispatch][coverage]") {
  // The table holds exactly the model's operations (the test above); each must have a handler,
  // and no request to one may answer that kmsd lacks it.
  OpHarness h;
  std::size_t covered = 0;
  for (const auto& e : OperationTable()) {
    INFO(e.name);
    CHECK(e.fn != nullptr);
    for (const char* body : {"{}", R"({"KeyId":"11111111-2222-4333-8444-555555555555"})"}) {
      auto r = h.Call(e.name, body);
      CHECK(r.message.find("does not implement") == std::string::npos);
      CHECK(r.message.find("not supported yet") == std::string::npos);
    }
    ++covered;
  }
  CHECK(covered == ModelOperations().size());
  CHECK(covered == 54);
}

TEST_CASE("Error bodies carry __type and message only when there is a message",
          "[server][dispatch]") {
  auto with = kms::server::Dispatcher::ErrorReply(kms::server::KmsError::NotFound("gone"),
                                                  "test-request-id");
  CHECK(with.status == 400);
  CHECK(with.body == R"({"__type":"NotFoundException","message":"gone"})");
  auto without = kms::server::Dispatcher::ErrorReply(kms::server::KmsError::InvalidCiphertext(),
                                                     "test-request-id");
  CHECK(without.body == R"({"__type":"InvalidCiphertextException"})");
  CHECK(without.error_type == "InvalidCiphertextException");
}

TEST_CASE("The region comes from the SigV4 credential scope", "[server][dispatch]") {
  CHECK(RegionFromAuthorization("AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-2/kms/"
                                "aws4_request, SignedHeaders=host, Signature=abc") == "eu-west-2");
  CHECK(RegionFromAuthorization("").empty());
  CHECK(RegionFromAuthorization("Credential=AKID/2026").empty());
  CHECK(RegionFromAuthorization("Credential=AKID/20260101/EU WEST/kms/aws4_request").empty());
}

TEST_CASE("Deeply nested JSON is a SerializationException, not a crash", "[server][dispatch]") {
  OpHarness h;
  auto deep = h.Call("DescribeKey", std::string(200'000, '['));
  CHECK(deep.status == 400);
  CHECK(deep.type == "SerializationException");
  // Brackets inside strings do not count as nesting.
  auto in_string = h.Call("GenerateRandom",
                          R"({"NumberOfBytes":4,"X":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})");
  CHECK(in_string.status == 200);
}

TEST_CASE("Invalid UTF-8 in a request is a SerializationException", "[server][dispatch]") {
  OpHarness h;
  auto key = h.CreateSymmetricKey();
  auto r = h.Call("UpdateKeyDescription",
                  "{\"KeyId\":\"" + key + "\",\"Description\":\"bad \xff\xfe\xc3 bytes\"}");
  CHECK(r.status == 400);
  CHECK(r.type == "SerializationException");
}

TEST_CASE("Repeated member names and bytes after the body are SerializationException",
          "[server][dispatch][regression][issue17]") {
  using namespace std::string_literals;
  OpHarness h;
  const std::string key = h.CreateSymmetricKey();
  using Case = std::pair<std::string, std::string>;  // operation, body
  const Case c = GENERATE_COPY(
      // Each of these was served before: the first KeyId won, the last context value won, the
      // NUL read as the end of the body.
      Case{"GenerateDataKey",
           R"({"KeyId":")" + key + R"(","KeySpec":"AES_256","KeyId":"alias/other"})"},
      Case{"Encrypt", R"({"KeyId":")" + key +
                          R"(","Plaintext":"eA==","EncryptionContext":{"a":"1","a":"2"}})"},
      Case{"CreateKey", R"({"Tags":[{"TagKey":"a","TagValue":"1","TagValue":"2"}]})"},
      Case{"DescribeKey", R"({"KeyId":")" + key + R"(","Unmodelled":{"x":1,"x":2}})"},
      Case{"DescribeKey", KeyIdBody(key) + '\0'}, Case{"DescribeKey", KeyIdBody(key) + "\0{}"s});
  INFO(c.first << " " << c.second);
  CallResult r = h.Call(c.first, c.second);
  CHECK(r.status == 400);
  CHECK(r.type == "SerializationException");
  // Nothing was created by the refused CreateKey.
  CHECK(h.Call("ListKeys", "{}").json["Keys"].Size() == 1);
}
