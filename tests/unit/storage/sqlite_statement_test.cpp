#include "storage/sqlite_statement.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "tests/unit/storage/test_util.hpp"

namespace kms::storage {
namespace {

using testing::OpenRaw;

constexpr std::string_view kInsert = "INSERT INTO t (s, i, o, b) VALUES (?1, ?2, ?3, ?4)";
constexpr std::string_view kSelect = "SELECT s, i, o, b FROM t ORDER BY rowid";

struct Row {
  std::string s;
  std::int64_t i;
  std::optional<std::int64_t> o;
  std::vector<std::uint8_t> b;
  bool b_is_null;
};

struct Fixture {
  DbHandle db = OpenRaw(":memory:");
  StatementCache cache{db.get()};

  Fixture() { REQUIRE(Exec(db.get(), "CREATE TABLE t (s TEXT, i INTEGER, o INTEGER, b BLOB)")); }

  void Insert(std::string_view s, std::int64_t i, std::optional<std::int64_t> o,
              const std::vector<std::uint8_t>& b) {
    auto stmt = cache.Prepare(kInsert);
    REQUIRE(stmt);
    stmt->BindText(1, s).BindInt(2, i).BindOptionalInt(3, o).BindBlob(4, b);
    auto changed = stmt->Run();
    REQUIRE(changed);
    CHECK(*changed == 1);
  }

  std::vector<Row> All() {
    std::vector<Row> rows;
    auto stmt = cache.Prepare(kSelect);
    REQUIRE(stmt);
    for (;;) {
      auto more = stmt->Step();
      REQUIRE(more);
      if (!*more) break;
      rows.push_back(
          Row{stmt->Text(0), stmt->Int(1), stmt->OptionalInt(2), stmt->Blob(3), stmt->IsNull(3)});
    }
    return rows;
  }
};

TEST_CASE("Bound values round-trip exactly", "[storage][sqlite_statement]") {
  Fixture f;
  const std::string with_nul("a\0b", 3);
  f.Insert(with_nul, -9007199254740993, std::nullopt, {0x00, 0xff, 0x00});
  f.Insert("", INT64_MAX, 0, {});
  f.Insert(std::string_view(), INT64_MIN, 7, {0x01});

  const auto rows = f.All();
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].s == with_nul);
  CHECK(rows[0].i == -9007199254740993);
  CHECK(rows[0].o == std::nullopt);
  CHECK(rows[0].b == std::vector<std::uint8_t>{0x00, 0xff, 0x00});
  CHECK(rows[1].s.empty());
  CHECK(rows[1].i == INT64_MAX);
  CHECK(rows[1].o == 0);
  CHECK(rows[1].b.empty());
  CHECK_FALSE(rows[1].b_is_null);  // an empty blob is not NULL
  CHECK(rows[2].s.empty());        // a null string_view binds "", not NULL
  CHECK(rows[2].i == INT64_MIN);
}

TEST_CASE("The cache prepares each SQL text once and clears bindings between uses",
          "[storage][sqlite_statement]") {
  Fixture f;
  f.Insert("x", 1, 2, {0x03});
  f.Insert("y", 4, 5, {0x06});
  CHECK(f.All().size() == 2);
  CHECK(f.cache.size() == 2);

  // A use that binds nothing sees NULLs, not the previous use's values.
  auto stmt = f.cache.Prepare(kInsert);
  REQUIRE(stmt);
  REQUIRE(stmt->Run());
  CHECK(f.cache.size() == 2);
  const auto rows = f.All();
  REQUIRE(rows.size() == 3);
  CHECK(rows[2].o == std::nullopt);
  CHECK(rows[2].b_is_null);
}

TEST_CASE("Statement errors surface from Step and Run", "[storage][sqlite_statement]") {
  Fixture f;

  SECTION("bad SQL is kIo at Prepare") {
    auto stmt = f.cache.Prepare("SELEKT 1");
    REQUIRE_FALSE(stmt);
    CHECK(stmt.error().code == Error::Code::kIo);
    CHECK(f.cache.size() == 0);
  }
  SECTION("two statements in one text are refused") {
    auto stmt = f.cache.Prepare("SELECT 1; SELECT 2");
    REQUIRE_FALSE(stmt);
    CHECK(stmt.error().message.find("more than one statement") != std::string::npos);
  }
  SECTION("a bind to a missing parameter is reported by Step") {
    auto stmt = f.cache.Prepare(kInsert);
    REQUIRE(stmt);
    stmt->BindText(9, "nope");
    auto r = stmt->Run();
    REQUIRE_FALSE(r);
    CHECK(r.error().message.rfind("bind: ", 0) == 0);
  }
  SECTION("Run refuses a statement that returns rows") {
    f.Insert("x", 1, 2, {});
    auto stmt = f.cache.Prepare(kSelect);
    REQUIRE(stmt);
    CHECK_FALSE(stmt->Run());
  }
}

}  // namespace
}  // namespace kms::storage
