// File: config.cpp
//
// Every setting is declared once, in kSettings: its flag, its environment variables, what a
// valid value looks like, and how to parse it into Config. Load() walks that table once per
// field, taking the flag if given, else the first non-empty environment variable, else leaving
// the default. Nothing here reads the process environment except EnvFromProcess().
#include "config/config.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>

#ifndef KMSD_VERSION
#define KMSD_VERSION "unknown"
#endif

namespace kms::config {
namespace {

// --- value parsers ---------------------------------------------------------------------------

// A whole decimal number in [min, max]: no sign, spaces or suffix.
template <class T>
bool ParseInteger(std::string_view text, std::uint64_t min, std::uint64_t max, T& out) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || value < min || value > max) return false;
  out = static_cast<T>(value);
  return true;
}

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// ^([a-z]+-){2,3}\d+$ (botocore's RegionType pattern), e.g. us-east-1, us-gov-west-1.
bool IsRegion(std::string_view s) {
  std::size_t groups = 0;
  std::size_t pos = 0;
  while (true) {
    const std::size_t dash = s.find('-', pos);
    if (dash == std::string_view::npos) break;
    const std::string_view group = s.substr(pos, dash - pos);
    if (group.empty() || !std::all_of(group.begin(), group.end(), IsLower)) return false;
    ++groups;
    pos = dash + 1;
  }
  const std::string_view number = s.substr(pos);
  return groups >= 2 && groups <= 3 && !number.empty() &&
         std::all_of(number.begin(), number.end(), IsDigit);
}

// A comma-separated list of host names, each a DNS name, an IPv4 address or a bracketed IPv6
// address, without a port: "kms,kms.internal,[fd00::1]". Stored lower-cased.
bool ParseHostList(std::string_view text, std::vector<std::string>& out) {
  std::vector<std::string> hosts;
  while (true) {
    const std::size_t comma = text.find(',');
    std::string_view name = text.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name.empty() || name.size() > 253) return false;
    const bool bracketed = name.front() == '[' && name.back() == ']' && name.size() > 2;
    std::string host;
    for (const char c : bracketed ? name.substr(1, name.size() - 2) : name) {
      const bool ok = IsLower(c) || IsDigit(c) || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' ||
                      c == '_' || (bracketed && c == ':');
      if (!ok) return false;
      host += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    hosts.push_back(bracketed ? "[" + host + "]" : host);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  out = std::move(hosts);
  return true;
}

// --- the table -------------------------------------------------------------------------------

struct Setting {
  std::string_view field;               // Config member, as shown in provenance lines
  std::string_view flag;                // "--port"
  std::string_view metavar;             // "PORT" in --help; empty for a switch that takes no value
  std::array<std::string_view, 2> env;  // highest priority first; "" = none
  std::string_view default_text;
  std::string_view help;
  std::string_view expected;  // what a valid value looks like, for error messages
  // Parses `value` into `config`; false if it is invalid.
  bool (*apply)(Config& config, std::string_view value);
};

constexpr std::array kSettings = {
    Setting{.field = "host",
            .flag = "--host",
            .metavar = "HOST",
            .env = {"KMS_HOST", ""},
            .default_text = "127.0.0.1",
            .help = "Address to listen on. Use 0.0.0.0 inside a container.",
            .expected = "a host name or IP address",
            .apply =
                [](Config& c, std::string_view v) {
                  c.host = v;
                  return !v.empty();
                }},
    Setting{
        .field = "port",
        .flag = "--port",
        .metavar = "PORT",
        .env = {"KMS_PORT", "PORT"},
        .default_text = "4599",
        .help = "TCP port to listen on; 0 picks a free port.",
        .expected = "an integer from 0 to 65535",
        .apply = [](Config& c, std::string_view v) { return ParseInteger(v, 0, 65535, c.port); }},
    Setting{.field = "account_id",
            .flag = "--account-id",
            .metavar = "ID",
            .env = {"KMS_ACCOUNT_ID", ""},
            .default_text = "111122223333",
            .help = "AWS account id used in key ARNs.",
            .expected = "exactly 12 digits",
            .apply =
                [](Config& c, std::string_view v) {
                  c.account_id = v;
                  return v.size() == 12 && std::all_of(v.begin(), v.end(), IsDigit);
                }},
    Setting{.field = "region",
            .flag = "--region",
            .metavar = "REGION",
            .env = {"KMS_REGION", ""},
            .default_text = "us-east-1",
            .help = "AWS region used in key ARNs.",
            .expected = "a region name such as us-east-1",
            .apply =
                [](Config& c, std::string_view v) {
                  c.region = v;
                  return IsRegion(v);
                }},
    Setting{.field = "data_dir",
            .flag = "--data-dir",
            .metavar = "DIR",
            .env = {"KMS_DATA_PATH", ""},
            .default_text = "kmsd-data",
            .help = "Directory that holds kms.db; created (mode 0700) if missing.",
            .expected = "a directory path",
            .apply =
                [](Config& c, std::string_view v) {
                  c.data_dir = v;
                  return !v.empty();
                }},
    Setting{.field = "in_memory",
            .flag = "--in-memory",
            .metavar = "",  // a switch
            .env = {"", ""},
            .default_text = "off",
            .help = "Keep all keys in memory only; nothing is written to disk.",
            .expected = "no value",
            .apply =
                [](Config& c, std::string_view /*value*/) {
                  c.in_memory = true;
                  return true;
                }},
    Setting{
        .field = "threads",
        .flag = "--threads",
        .metavar = "N",
        .env = {"KMS_THREADS", ""},
        .default_text = "0",
        .help = "I/O threads; 0 means one per CPU.",
        .expected = "an integer from 0 to 256",
        .apply = [](Config& c, std::string_view v) { return ParseInteger(v, 0, 256, c.threads); }},
    Setting{.field = "log_level",
            .flag = "--log-level",
            .metavar = "LEVEL",
            .env = {"KMS_LOG_LEVEL", ""},
            .default_text = "info",
            .help = "Least severe log level written: debug, info, warn or error.",
            .expected = "one of debug, info, warn, error",
            .apply =
                [](Config& c, std::string_view v) {
                  c.log_level = v;
                  return v == "debug" || v == "info" || v == "warn" || v == "error";
                }},
    Setting{.field = "body_limit_bytes",
            .flag = "--body-limit",
            .metavar = "BYTES",
            .env = {"", ""},
            .default_text = "1048576",
            .help = "Largest request body accepted, in bytes.",
            .expected = "a byte count from 1024 (1 KiB) to 67108864 (64 MiB)",
            .apply =
                [](Config& c, std::string_view v) {
                  return ParseInteger(v, 1024, std::uint64_t{64} * 1024 * 1024, c.body_limit_bytes);
                }},
    Setting{.field = "read_timeout",
            .flag = "--read-timeout",
            .metavar = "SECONDS",
            .env = {"", ""},
            .default_text = "30",
            .help = "Seconds a connection may take to send a request.",
            .expected = "a number of seconds from 1 to 3600",
            .apply =
                [](Config& c, std::string_view v) {
                  unsigned seconds = 0;
                  if (!ParseInteger(v, 1, 3600, seconds)) return false;
                  c.read_timeout = std::chrono::seconds(seconds);
                  return true;
                }},
    Setting{
        .field = "max_connections",
        .flag = "--max-connections",
        .metavar = "N",
        .env = {"KMS_MAX_CONNECTIONS", ""},
        .default_text = "4096",
        .help = "Connections served at once; a client beyond them is answered "
                "ThrottlingException (HTTP 503) and disconnected.",
        .expected = "an integer from 1 to 1048576",
        .apply = [](Config& c,
                    std::string_view v) { return ParseInteger(v, 1, 1 << 20, c.max_connections); }},
    Setting{
        .field = "allowed_hosts",
        .flag = "--allowed-hosts",
        .metavar = "NAMES",
        .env = {"KMS_ALLOWED_HOSTS", ""},
        .default_text = "none",
        .help = "Comma-separated host names requests may address kmsd by, besides "
                "localhost, 127.0.0.1, [::1] and --host (for containers and compose "
                "networks). Other Host headers are refused, against DNS rebinding: always "
                "on a loopback --host, and on any --host once names are given here.",
        .expected = "comma-separated host names without ports, such as kms,kms.internal",
        .apply = [](Config& c, std::string_view v) { return ParseHostList(v, c.allowed_hosts); }},
};

const Setting* FindFlag(std::string_view flag) {
  const auto it = std::find_if(kSettings.begin(), kSettings.end(),
                               [flag](const Setting& s) { return s.flag == flag; });
  return it == kSettings.end() ? nullptr : &*it;
}

Error Fail(std::string message) { return Error{std::move(message)}; }

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

void throw_exception_from_error(const Error& error, const boost::source_location& /*location*/) {
  throw std::runtime_error(error.message);
}

boost::system::result<Loaded, Error> Load(std::span<const std::string_view> args,
                                          const EnvMap& env) {
  // Pass 1: flags, by table row. A repeated flag overrides the earlier one.
  std::array<std::optional<std::string_view>, kSettings.size()> flag_values;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") return Loaded{Action::kHelp, {}};
    if (arg == "--version") return Loaded{Action::kVersion, {}};
    if (!arg.starts_with("-")) {
      return Fail("unexpected argument " + Quoted(arg) + " (see --help)");
    }
    const std::size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    const Setting* setting = FindFlag(name);
    if (setting == nullptr) return Fail("unknown flag " + Quoted(name) + " (see --help)");
    const auto row = static_cast<std::size_t>(setting - kSettings.data());
    if (setting->metavar.empty()) {
      if (eq != std::string_view::npos) {
        return Fail("flag " + std::string(name) + " takes no value");
      }
      flag_values[row] = "true";
    } else if (eq != std::string_view::npos) {
      flag_values[row] = arg.substr(eq + 1);
    } else if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
      flag_values[row] = args[++i];
    } else {
      return Fail("missing value for flag " + std::string(name) + " " +
                  std::string(setting->metavar));
    }
  }

  // Pass 2: each field from its flag, else its environment, else its default.
  Loaded loaded;
  Config& config = loaded.config;
  for (std::size_t row = 0; row < kSettings.size(); ++row) {
    const Setting& setting = kSettings[row];
    std::optional<std::string_view> value;
    std::string_view origin;  // the flag or environment variable the value came from
    if (flag_values[row]) {
      value = flag_values[row];
      origin = setting.flag;
    } else {
      for (const std::string_view name : setting.env) {
        if (name.empty()) continue;
        const auto it = env.find(std::string(name));
        if (it == env.end() || it->second.empty()) continue;
        value = it->second;
        origin = name;
        break;
      }
    }
    if (!value) continue;  // the default stands
    const bool from_flag = flag_values[row].has_value();
    if (!setting.apply(config, *value)) {
      return Fail("invalid value " + Quoted(*value) + " for " +
                  (from_flag ? "flag " : "environment variable ") + std::string(origin) +
                  ": expected " + std::string(setting.expected));
    }
    config.provenance.push_back(std::string(setting.field) + "=" + std::string(*value) + " (" +
                                (from_flag ? "flag " : "env ") + std::string(origin) + ")");
  }
  return loaded;
}

EnvMap EnvFromProcess(char** envp) {
  EnvMap env;
  for (char** entry = envp; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::size_t eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return env;
}

std::string HelpText() {
  std::string text =
      "Usage: kmsd [flags]\n"
      "\n"
      "A local emulator of AWS KMS (AWS JSON 1.1 protocol, X-Amz-Target TrentService.*).\n"
      "Flags override environment variables, which override the defaults. An environment\n"
      "variable that is set but empty counts as unset.\n"
      "\n"
      "Flags:\n";
  for (const Setting& setting : kSettings) {
    text += "  ";
    text += setting.flag;
    if (!setting.metavar.empty()) {
      text += ' ';
      text += setting.metavar;
    }
    text += "\n      ";
    text += setting.help;
    text += "\n      ";
    bool any_env = false;
    for (const std::string_view name : setting.env) {
      if (name.empty()) continue;
      text += any_env ? ", then " : "env ";
      text += name;
      any_env = true;
    }
    text += any_env ? "; default " : "default ";
    text += setting.default_text;
    text += '\n';
  }
  text +=
      "  -h, --help\n"
      "      Print this help and exit.\n"
      "  --version\n"
      "      Print the version and exit.\n";
  return text;
}

std::string_view VersionText() { return "kmsd " KMSD_VERSION; }

}  // namespace kms::config
