#include "storage/records.hpp"

#include <string>
#include <string_view>

#include <catch2/catch.hpp>

namespace kms::storage {
namespace {

TEST_CASE("SharedText reads and compares like the text it holds", "[storage][records]") {
  const SharedText empty;
  CHECK(empty.empty());
  CHECK(empty.view() == "");
  CHECK(empty == SharedText(""));

  const SharedText policy = std::string(R"({"Statement":[]})");
  const std::string_view view = policy;
  CHECK(view == R"({"Statement":[]})");
  CHECK(policy.size() == view.size());
  CHECK(policy == R"({"Statement":[]})");
  CHECK(policy == SharedText(R"({"Statement":[]})"));  // equal text, another allocation
  CHECK_FALSE(policy.SharesWith(SharedText(R"({"Statement":[]})")));
  CHECK_FALSE(policy == SharedText("{}"));
}

TEST_CASE("Copies of a SharedText share its text; assigning replaces only one copy",
          "[storage][records]") {
  SharedText a = "one";
  const SharedText b = a;
  CHECK(a.SharesWith(b));
  a = "two";
  CHECK(a == "two");
  CHECK(b == "one");
  CHECK_FALSE(a.SharesWith(b));
}

TEST_CASE("KeyRecord equality compares policies by text", "[storage][records]") {
  KeyRecord x;
  KeyRecord y;
  x.policy = "{}";
  y.policy = std::string("{}");
  CHECK(x == y);
  y.policy = "{ }";
  CHECK_FALSE(x == y);
}

}  // namespace
}  // namespace kms::storage
