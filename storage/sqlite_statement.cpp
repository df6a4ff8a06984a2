#include "storage/sqlite_statement.hpp"

#include "base/try.hpp"

#include <cctype>
#include <utility>

namespace kms::storage {

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement& Statement::BindText(int index, std::string_view text) {
  // A default-constructed string_view has data() == nullptr, which SQLite would bind as NULL.
  const char* data = text.data() != nullptr ? text.data() : "";
  const int rc =
      sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement& Statement::BindInt(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement& Statement::BindOptionalInt(int index, std::optional<std::int64_t> value) {
  const int rc = value ? sqlite3_bind_int64(stmt_, index, *value) : sqlite3_bind_null(stmt_, index);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement& Statement::BindBlob(int index, std::span<const std::uint8_t> bytes) {
  // sqlite3_bind_blob64 with a null pointer binds NULL, but an empty blob is not NULL.
  const int rc = bytes.empty() ? sqlite3_bind_zeroblob(stmt_, index, 0)
                               : sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(),
                                                     SQLITE_TRANSIENT);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement& Statement::BindNull(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement& Statement::BindOptionalText(int index, std::optional<std::string_view> text) {
  return text ? BindText(index, *text) : BindNull(index);
}

Result<bool> Statement::Step() {
  if (bind_rc_ != SQLITE_OK) return SqliteError(db_, bind_rc_, "bind");
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, "step");
}

Result<std::int64_t> Statement::Run() {
  KMS_ASSIGN_OR_RETURN(auto row, Step());
  if (row) return Error{Error::Code::kIo, "step: statement returned a row; use Step()"};
  return static_cast<std::int64_t>(sqlite3_changes64(db_));
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::optional<std::int64_t> Statement::OptionalInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}

std::string Statement::Text(int column) const { return std::string(TextView(column)); }

std::string_view Statement::TextView(int column) const {
  // Per the SQLite docs: fetch the pointer first, then the size.
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (text == nullptr || size <= 0) return {};
  return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
}

std::vector<std::uint8_t> Statement::Blob(int column) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
  const int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || size <= 0) return {};
  std::vector<std::uint8_t> bytes(data, data + size);
  return bytes;
}

Result<Statement> StatementCache::Prepare(std::string_view sql) {
  auto it = stmts_.find(sql);
  if (it == stmts_.end()) {
    if (sql.size() > static_cast<std::size_t>(INT32_MAX)) {
      return Error{Error::Code::kIo, "prepare: SQL text too long"};
    }
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &raw, &tail);
    StmtHandle stmt(raw);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare");
    const std::string_view rest(tail, static_cast<std::size_t>(sql.data() + sql.size() - tail));
    for (char c : rest) {
      if (std::isspace(static_cast<unsigned char>(c)) == 0 && c != ';') {
        return Error{Error::Code::kIo, "prepare: more than one statement in one SQL text"};
      }
    }
    if (stmt == nullptr) return Error{Error::Code::kIo, "prepare: empty SQL text"};
    it = stmts_.emplace(sql, std::move(stmt)).first;
  }
  return Statement(db_, it->second.get());
}

}  // namespace kms::storage
