#include "storage/sqlite_handles.hpp"

#include <utility>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "tests/unit/storage/test_util.hpp"

namespace kms::storage {
namespace {

using testing::OpenRaw;
using testing::QueryInt;
using testing::TempDir;

DbHandle MemoryDbWithTable() {
  DbHandle db = OpenRaw(":memory:");
  REQUIRE(Exec(db.get(), "CREATE TABLE t (x INTEGER PRIMARY KEY)"));
  return db;
}

TEST_CASE("MapSqliteCode sorts SQLite result codes into storage error codes",
          "[storage][sqlite_handles]") {
  using Code = Error::Code;
  const auto [sqlite_code, expected] = GENERATE(table<int, Code>({
      {SQLITE_CONSTRAINT_UNIQUE, Code::kAlreadyExists},
      {SQLITE_CONSTRAINT_PRIMARYKEY, Code::kAlreadyExists},
      {SQLITE_CONSTRAINT_FOREIGNKEY, Code::kNotFound},
      {SQLITE_CONSTRAINT_CHECK, Code::kIo},
      {SQLITE_BUSY, Code::kBusy},
      {SQLITE_BUSY_SNAPSHOT, Code::kBusy},
      {SQLITE_LOCKED, Code::kBusy},
      {SQLITE_CORRUPT, Code::kCorrupt},
      {SQLITE_NOTADB, Code::kCorrupt},
      {SQLITE_FULL, Code::kIo},
      {SQLITE_IOERR, Code::kIo},
      {SQLITE_IOERR_FSYNC, Code::kIo},
      {SQLITE_READONLY, Code::kIo},
      {SQLITE_CANTOPEN, Code::kIo},
  }));
  CAPTURE(sqlite3_errstr(sqlite_code));
  CHECK(MapSqliteCode(sqlite_code) == expected);
}

TEST_CASE("SqliteError uses the extended code and carries the context and SQLite's text",
          "[storage][sqlite_handles]") {
  DbHandle db = MemoryDbWithTable();
  REQUIRE(Exec(db.get(), "INSERT INTO t VALUES (1)"));
  const int rc = sqlite3_exec(db.get(), "INSERT INTO t VALUES (1)", nullptr, nullptr, nullptr);
  REQUIRE(rc == SQLITE_CONSTRAINT);
  const Error error = SqliteError(db.get(), rc, "insert into t");
  CHECK(error.code == Error::Code::kAlreadyExists);
  CHECK(error.message.rfind("insert into t: ", 0) == 0);
  CHECK(error.message.find("UNIQUE constraint failed") != std::string::npos);
}

TEST_CASE("Exec reports bad SQL as kIo", "[storage][sqlite_handles]") {
  DbHandle db = OpenRaw(":memory:");
  auto r = Exec(db.get(), "CREATE TABLUH nope");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Error::Code::kIo);
  CHECK(r.error().message.find("syntax error") != std::string::npos);
}

TEST_CASE("A Transaction rolls back unless committed", "[storage][sqlite_handles]") {
  DbHandle db = MemoryDbWithTable();

  SECTION("dropped without Commit") {
    {
      auto txn = Transaction::Begin(db.get());
      REQUIRE(txn);
      REQUIRE(Exec(db.get(), "INSERT INTO t VALUES (1)"));
    }
    CHECK(QueryInt(db.get(), "SELECT count(*) FROM t") == 0);
    CHECK(sqlite3_get_autocommit(db.get()) != 0);
  }
  SECTION("committed") {
    {
      auto txn = Transaction::Begin(db.get());
      REQUIRE(txn);
      REQUIRE(Exec(db.get(), "INSERT INTO t VALUES (1)"));
      REQUIRE(txn->Commit());
    }
    CHECK(QueryInt(db.get(), "SELECT count(*) FROM t") == 1);
  }
  SECTION("moved: only the final owner acts") {
    {
      auto txn = Transaction::Begin(db.get());
      REQUIRE(txn);
      REQUIRE(Exec(db.get(), "INSERT INTO t VALUES (1)"));
      Transaction moved(std::move(*txn));
      REQUIRE(moved.Commit());
    }  // the moved-from Transaction must not roll back (or touch) anything
    CHECK(QueryInt(db.get(), "SELECT count(*) FROM t") == 1);
  }
  SECTION("nested Begin fails and leaves the outer transaction usable") {
    auto outer = Transaction::Begin(db.get());
    REQUIRE(outer);
    auto inner = Transaction::Begin(db.get());
    REQUIRE_FALSE(inner);
    CHECK(inner.error().message.find("within a transaction") != std::string::npos);
    REQUIRE(Exec(db.get(), "INSERT INTO t VALUES (2)"));
    REQUIRE(outer->Commit());
    CHECK(QueryInt(db.get(), "SELECT count(*) FROM t") == 1);
  }
}

TEST_CASE("Transaction::Begin reports a write lock held elsewhere as kBusy",
          "[storage][sqlite_handles]") {
  TempDir dir;
  const std::string path = dir.File("busy.db");
  DbHandle holder = OpenRaw(path);
  DbHandle waiter = OpenRaw(path);
  REQUIRE(Exec(holder.get(), "CREATE TABLE t (x)"));
  auto held = Transaction::Begin(holder.get());
  REQUIRE(held);

  sqlite3_busy_timeout(waiter.get(), 0);
  auto blocked = Transaction::Begin(waiter.get());
  REQUIRE_FALSE(blocked);
  CHECK(blocked.error().code == Error::Code::kBusy);
}

}  // namespace
}  // namespace kms::storage
