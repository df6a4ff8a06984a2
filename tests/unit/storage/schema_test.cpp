#include "storage/schema.hpp"

#include <string>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "storage/sqlite_handles.hpp"
#include "storage/sqlite_store.hpp"
#include "tests/unit/storage/test_util.hpp"

namespace kms::storage {
namespace {

using testing::kUsEast;
using testing::MinimalKey;
using testing::OpenRaw;
using testing::QueryInt;
using testing::QueryText;
using testing::TempDir;

std::string Tables(sqlite3* db) {
  return QueryText(db,
                   "SELECT group_concat(name, ',') FROM "
                   "(SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name)");
}

TEST_CASE("Migrating an empty database creates the schema and sets user_version",
          "[storage][schema]") {
  DbHandle db = OpenRaw(":memory:");
  auto before = SchemaVersion(db.get());
  REQUIRE(before);
  CHECK(*before == 0);

  REQUIRE(Migrate(db.get()));
  auto after = SchemaVersion(db.get());
  REQUIRE(after);
  CHECK(*after == LatestSchemaVersion());
  CHECK(Tables(db.get()) == "aliases,key_materials,key_policies,key_tags,keys");
  CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
  CHECK(QueryInt(db.get(), "SELECT count(*) FROM pragma_foreign_key_check") == 0);

  SECTION("migrating again is a no-op") {
    REQUIRE(Migrate(db.get()));
    CHECK(QueryInt(db.get(), "PRAGMA user_version") == LatestSchemaVersion());
  }
}

TEST_CASE("Every child table cascades deletes from keys", "[storage][schema]") {
  DbHandle db = OpenRaw(":memory:");
  REQUIRE(Migrate(db.get()));
  const char* table = GENERATE("key_materials", "key_tags", "key_policies", "aliases");
  CAPTURE(table);
  sqlite3_stmt* raw = nullptr;
  REQUIRE(sqlite3_prepare_v2(
              db.get(), "SELECT DISTINCT \"table\", on_delete FROM pragma_foreign_key_list(?1)", -1,
              &raw, nullptr) == SQLITE_OK);
  const StmtHandle stmt(raw);
  REQUIRE(sqlite3_bind_text(stmt.get(), 1, table, -1, SQLITE_STATIC) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt.get()) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0))) == "keys");
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 1))) ==
        "CASCADE");
  CHECK(sqlite3_step(stmt.get()) == SQLITE_DONE);  // exactly one foreign key
}

TEST_CASE("A database at each older schema version migrates to the latest on open",
          "[storage][schema]") {
  const int old_version = GENERATE(range(0, LatestSchemaVersion()));
  CAPTURE(old_version);
  TempDir dir;
  const std::string path = dir.File("old.db");
  {
    DbHandle db = OpenRaw(path);
    REQUIRE(MigrateTo(db.get(), old_version));
    CHECK(QueryInt(db.get(), "PRAGMA user_version") == old_version);
  }

  auto store = SqliteStore::Open(path);
  REQUIRE(store);
  REQUIRE((*store)->InsertKey(MinimalKey(kUsEast, "k1")));
  auto snapshot = (*store)->LoadAll();
  REQUIRE(snapshot);
  CHECK(snapshot->keys.size() == 1);
  store->reset();

  DbHandle db = OpenRaw(path);
  CHECK(QueryInt(db.get(), "PRAGMA user_version") == LatestSchemaVersion());
  CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
}

TEST_CASE("A database from a newer kmsd is refused as kCorrupt", "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.File("future.db");
  const int future = LatestSchemaVersion() + 1;
  {
    DbHandle db = OpenRaw(path);
    REQUIRE(Migrate(db.get()));
    REQUIRE(Exec(db.get(), ("PRAGMA user_version = " + std::to_string(future)).c_str()));
  }

  SECTION("Migrate") {
    DbHandle db = OpenRaw(path);
    auto r = Migrate(db.get());
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Error::Code::kCorrupt);
    CHECK(r.error().message.find("version " + std::to_string(future)) != std::string::npos);
    CHECK(r.error().message.find("newer") != std::string::npos);
    CHECK(QueryInt(db.get(), "PRAGMA user_version") == future);  // left alone
  }
  SECTION("SqliteStore::Open names the file") {
    auto store = SqliteStore::Open(path);
    REQUIRE_FALSE(store);
    CHECK(store.error().code == Error::Code::kCorrupt);
    CHECK(store.error().message.find(path) != std::string::npos);
  }
}

TEST_CASE("MigrateTo refuses a version that does not exist", "[storage][schema]") {
  DbHandle db = OpenRaw(":memory:");
  CHECK_FALSE(MigrateTo(db.get(), -1));
  CHECK_FALSE(MigrateTo(db.get(), LatestSchemaVersion() + 1));
  CHECK(QueryInt(db.get(), "PRAGMA user_version") == 0);
}

}  // namespace
}  // namespace kms::storage
