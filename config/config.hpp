// File: config.hpp
//
// kmsd's startup configuration. Load() merges command-line flags, environment variables and
// defaults, in that order of precedence, and validates every value. It is pure: the
// environment comes in as an EnvMap (EnvFromProcess() builds one from `environ` in main), so
// tests pass a fake one.
//
// Usage (main.cpp):
//   std::vector<std::string_view> args(argv + 1, argv + argc);
//   auto loaded = config::Load(args, config::EnvFromProcess(environ));
//   if (!loaded) { std::cerr << "kmsd: " << loaded.error().message << "\n"; return 2; }
//   if (loaded->action == config::Action::kHelp) { std::cout << config::HelpText(); return 0; }
//
// Thread safety: all functions are reentrant; a Config is a plain value.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

namespace kms::config {

struct Config {
  std::string host = "127.0.0.1";  // bind to loopback unless told otherwise
  std::uint16_t port = 4599;       // 0 = pick a free port (tests use it)
  std::string account_id = "111122223333";
  std::string region = "us-east-1";
  std::filesystem::path data_dir = "kmsd-data";  // holds kms.db, created if missing
  bool in_memory = false;                        // no database file at all
  unsigned threads = 0;                          // 0 -> std::thread::hardware_concurrency()
  std::string log_level = "info";                // debug | info | warn | error
  std::size_t body_limit_bytes = 1 << 20;
  std::chrono::seconds read_timeout{30};
  // Connections served at once; one more is answered ThrottlingException (503) and closed.
  std::size_t max_connections = 4096;
  // Host names (no port) a request's Host header may name besides localhost, 127.0.0.1, [::1]
  // and `host`; checked on a loopback bind, and on any bind once this is not empty, so a web
  // page cannot reach kmsd by rebinding its own DNS name to 127.0.0.1. Lower case.
  std::vector<std::string> allowed_hosts;
  // One line per field set by a flag or the environment, in table order, for the startup log:
  // "region=eu-west-2 (env KMS_REGION)", "port=4600 (flag --port)".
  std::vector<std::string> provenance;
};

// A bad flag or value. Fatal at startup; the message names the flag or variable and the value.
struct Error {
  std::string message;
};

// Lets boost::system::result<T, Error>::value() throw (found by ADL).
[[noreturn]] void throw_exception_from_error(const Error& error,
                                             const boost::source_location& location);

using EnvMap = std::map<std::string, std::string>;

enum class Action { kRun, kHelp, kVersion };

struct Loaded {
  Action action = Action::kRun;
  Config config;  // defaults only when action is kHelp or kVersion
};

// Parses `args` (argv without argv[0]) over `env` over the defaults.
//   flags: --name value or --name=value; a later flag repeats override earlier ones.
//   --help/-h and --version return at once with that action, skipping value validation.
//   env:   an empty variable counts as unset (so `KMS_REGION=` in a compose file is harmless).
// Fails on an unknown flag, a flag without its value, a positional argument, or an invalid
// value; values that something of higher precedence overrides are not validated.
boost::system::result<Loaded, Error> Load(std::span<const std::string_view> args,
                                          const EnvMap& env);

// Copies a NULL-terminated `environ`-style array ("NAME=value"). The only code that reads the
// process environment; when a name repeats, the first entry wins, as with getenv().
EnvMap EnvFromProcess(char** envp);

// Usage text for --help: every flag and environment variable, with its default.
std::string HelpText();

// "kmsd <version>", printed for --version.
std::string_view VersionText();

}  // namespace kms::config
