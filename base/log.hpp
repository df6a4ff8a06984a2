// File: log.hpp
//
// The server's log: one line per event on stderr, filtered by level. Access-log lines
// (one per request: operation, status, __type, duration, request id) are written at
// debug level. Never log plaintext, data keys or key material: callers pass only
// metadata.
//
// Thread-safety: Log() may be called from any thread; each line is written whole.
#pragma once

#include <string_view>

namespace kms {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug" | "info" | "warn" | "error"; anything else -> kInfo.
LogLevel ParseLogLevel(std::string_view text);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void Log(LogLevel level, std::string_view message);

}  // namespace kms
