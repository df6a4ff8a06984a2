#include "storage/schema.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "storage/sqlite_handles.hpp"
#include "storage/sqlite_store.hpp"
#include "tests/unit/storage/test_util.hpp"

namespace kms::storage {
namespace {

using testing::kEuWest;
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
  CHECK(Tables(db.get()) ==
        "aliases,custom_key_stores,key_grants,key_import_params,key_last_usage,key_materials,"
        "key_policies,key_tags,keys,policy_texts");
  CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
  CHECK(QueryInt(db.get(), "SELECT count(*) FROM pragma_foreign_key_check") == 0);

  SECTION("migrating again is a no-op") {
    REQUIRE(Migrate(db.get()));
    CHECK(QueryInt(db.get(), "PRAGMA user_version") == LatestSchemaVersion());
  }
}

// Every table, index and constraint as SQLite records it (its CREATE statement).
std::string SchemaSql(sqlite3* db) {
  return QueryText(db,
                   "SELECT group_concat(type || ' ' || name || ': ' || coalesce(sql, ''), '\n') "
                   "FROM (SELECT * FROM sqlite_schema ORDER BY type, name)");
}

TEST_CASE("A new database gets exactly the schema that the migrations build", "[storage][schema]") {
  DbHandle fresh = OpenRaw(":memory:");
  REQUIRE(Migrate(fresh.get()));
  DbHandle stepped = OpenRaw(":memory:");
  REQUIRE(Exec(stepped.get(), "PRAGMA foreign_keys = ON"));  // as SqliteStore opens it
  for (int version = 1; version <= LatestSchemaVersion(); ++version) {
    REQUIRE(MigrateTo(stepped.get(), version));
  }
  CHECK(QueryInt(stepped.get(), "PRAGMA user_version") == LatestSchemaVersion());
  CHECK(QueryInt(fresh.get(), "PRAGMA user_version") == LatestSchemaVersion());
  CHECK_FALSE(SchemaSql(fresh.get()).empty());
  CHECK(SchemaSql(fresh.get()) == SchemaSql(stepped.get()));
}

TEST_CASE("Every child table cascades deletes from keys", "[storage][schema]") {
  DbHandle db = OpenRaw(":memory:");
  REQUIRE(Migrate(db.get()));
  const char* table = GENERATE("key_materials", "key_tags", "key_policies", "aliases", "key_grants",
                               "key_import_params", "key_last_usage");
  CAPTURE(table);
  sqlite3_stmt* raw = nullptr;
  REQUIRE(
      sqlite3_prepare_v2(db.get(),
                         "SELECT DISTINCT \"table\", on_delete FROM pragma_foreign_key_list(?1) "
                         "WHERE \"table\" = 'keys'",
                         -1, &raw, nullptr) == SQLITE_OK);
  const StmtHandle stmt(raw);
  REQUIRE(sqlite3_bind_text(stmt.get(), 1, table, -1, SQLITE_STATIC) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt.get()) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0))) == "keys");
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 1))) ==
        "CASCADE");
  CHECK(sqlite3_step(stmt.get()) == SQLITE_DONE);  // exactly one foreign key to keys
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

// Rows as version 1 stored them: every child names its key by (account, region, key_id).
// Two keys in two scopes with the same key id, so that a child can only find its own key
// by all three columns; material rows inserted out of version order.
constexpr const char* kVersion1Rows = R"sql(
INSERT INTO keys VALUES
  ('111122223333', 'us-east-1', 'k1', 'first', 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT',
   'AWS_KMS', 'CUSTOMER', 'Enabled', 1700000000, NULL, NULL, 0, 1, 365, 1731536000, 2),
  ('111122223333', 'eu-west-2', 'k1', 'second', 'HMAC_256', 'GENERATE_VERIFY_MAC',
   'EXTERNAL', 'CUSTOMER', 'PendingDeletion', 1700000001, 1702592000, 30, 1, 0, NULL, NULL,
   1);
INSERT INTO key_materials VALUES
  ('111122223333', 'us-east-1', 'k1', 2, 'm2', x'0201', 1710000000),
  ('111122223333', 'eu-west-2', 'k1', 1, 'e1', x'00ff', 1700000001),
  ('111122223333', 'us-east-1', 'k1', 1, 'm1', x'01', 1700000000);
INSERT INTO key_tags VALUES
  ('111122223333', 'us-east-1', 'k1', 1, 'second', 'b'),
  ('111122223333', 'us-east-1', 'k1', 0, 'first', 'a');
INSERT INTO key_policies VALUES
  ('111122223333', 'us-east-1', 'k1', 'default', '{"p":1}'),
  ('111122223333', 'eu-west-2', 'k1', 'default', '{"p":2}');
INSERT INTO aliases VALUES
  ('111122223333', 'eu-west-2', 'alias/second', 'k1', 1700000002, 1700000003);
)sql";

TEST_CASE("Migrating from version 1 keeps every key, child row and alias", "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.File("v1.db");
  {
    DbHandle db = OpenRaw(path);
    REQUIRE(MigrateTo(db.get(), 1));
    REQUIRE(Exec(db.get(), kVersion1Rows));
  }
  auto store = SqliteStore::Open(path);
  REQUIRE(store);
  auto snapshot = (*store)->LoadAll();
  REQUIRE(snapshot);
  REQUIRE(snapshot->keys.size() == 2);
  const KeyRecord& east = *snapshot->keys[0];  // keys keep their order (rowid)
  const KeyRecord& west = *snapshot->keys[1];
  CHECK(east.scope == kUsEast);
  CHECK(east.description == "first");
  CHECK(east.rotation_period_days == 365);
  CHECK(east.current_material_version == 2);
  CHECK(east.policy == R"({"p":1})");
  REQUIRE(east.tags.size() == 2);
  CHECK(east.tags[0].key == "first");
  CHECK(east.tags[1].key == "second");
  REQUIRE(east.materials.size() == 2);
  CHECK(east.materials[0].version == 1);
  CHECK(east.materials[0].material_id == "m1");
  CHECK(east.materials[1].bytes == std::vector<std::uint8_t>{0x02, 0x01});

  CHECK(west.scope == kEuWest);
  CHECK(west.key_spec == domain::KeySpec::kHmac256);
  CHECK(west.deletion_date == 1702592000);
  CHECK(west.pending_window_days == 30);
  CHECK(west.multi_region);
  CHECK(west.policy == R"({"p":2})");
  CHECK(west.tags.empty());
  REQUIRE(west.materials.size() == 1);
  CHECK(west.materials[0].bytes == std::vector<std::uint8_t>{0x00, 0xff});

  REQUIRE(snapshot->aliases.size() == 1);
  CHECK(snapshot->aliases[0].scope == kEuWest);
  CHECK(snapshot->aliases[0].target_key_id == "k1");
  CHECK(snapshot->aliases[0].last_updated_date == 1700000003);

  SECTION("and the cascades work on the migrated rows") {
    REQUIRE((*store)->DeleteKey(kEuWest, "k1"));
    store->reset();
    DbHandle db = OpenRaw(path);
    CHECK(QueryInt(db.get(), "SELECT count(*) FROM key_materials") == 2);
    CHECK(QueryInt(db.get(), "SELECT count(*) FROM key_policies") == 1);
    CHECK(QueryText(db.get(), "SELECT group_concat(text) FROM policy_texts") == R"({"p":1})");
    CHECK(QueryInt(db.get(), "SELECT count(*) FROM aliases") == 0);
    CHECK(Tables(db.get()) ==
          "aliases,custom_key_stores,key_grants,key_import_params,key_last_usage,key_materials,"
          "key_policies,key_tags,keys,policy_texts");
    CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
  }
}

TEST_CASE("Migrating from version 1 stops at an orphaned child row and keeps version 1",
          "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.File("v1.db");
  {
    DbHandle db = OpenRaw(path);  // foreign keys are off on this connection
    REQUIRE(MigrateTo(db.get(), 1));
    REQUIRE(Exec(db.get(), kVersion1Rows));
    REQUIRE(Exec(db.get(),
                 "INSERT INTO key_tags VALUES "
                 "('111122223333', 'us-east-1', 'ghost', 0, 'lost', 'row')"));
  }
  auto store = SqliteStore::Open(path);
  REQUIRE_FALSE(store);
  CHECK_THAT(store.error().message,
             Catch::Contains("schema migration 2") && Catch::Contains("key_row"));
  DbHandle db = OpenRaw(path);
  CHECK(QueryInt(db.get(), "PRAGMA user_version") == 1);
  CHECK(QueryInt(db.get(), "SELECT count(*) FROM key_tags") == 3);
}

TEST_CASE("Migrating from version 2 stores each policy text once", "[storage][schema]") {
  TempDir dir;
  const std::string path = dir.File("v2.db");
  {
    DbHandle db = OpenRaw(path);
    REQUIRE(MigrateTo(db.get(), 2));
    REQUIRE(Exec(db.get(), R"sql(
INSERT INTO keys VALUES
  (1, '111122223333', 'us-east-1', 'k1', '', 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'AWS_KMS',
   'CUSTOMER', 'Enabled', 1700000000, NULL, NULL, 0, 0, NULL, NULL, 1),
  (2, '111122223333', 'us-east-1', 'k2', '', 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'AWS_KMS',
   'CUSTOMER', 'Enabled', 1700000000, NULL, NULL, 0, 0, NULL, NULL, 1),
  (3, '111122223333', 'us-east-1', 'k3', '', 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'AWS_KMS',
   'CUSTOMER', 'Enabled', 1700000000, NULL, NULL, 0, 0, NULL, NULL, 1);
INSERT INTO key_policies VALUES (1, 'default', '{"shared":1}'), (2, 'default', '{"own":2}'),
                                (3, 'default', '{"shared":1}');
)sql"));
  }
  auto store = SqliteStore::Open(path);
  REQUIRE(store);
  auto snapshot = (*store)->LoadAll();
  REQUIRE(snapshot);
  REQUIRE(snapshot->keys.size() == 3);
  CHECK(snapshot->keys[0]->policy == R"({"shared":1})");
  CHECK(snapshot->keys[1]->policy == R"({"own":2})");
  CHECK(snapshot->keys[2]->policy == R"({"shared":1})");
  CHECK(snapshot->keys[0]->policy.SharesWith(snapshot->keys[2]->policy));
  store->reset();
  DbHandle db = OpenRaw(path);
  CHECK(QueryInt(db.get(), "PRAGMA user_version") == LatestSchemaVersion());
  CHECK(QueryInt(db.get(), "SELECT count(*) FROM policy_texts") == 2);
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
