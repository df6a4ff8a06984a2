// config::Load: flags > environment > defaults, validation messages, provenance lines and the
// help/version actions. The environment is always a fake EnvMap.
#include "config/config.hpp"

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

namespace kms::config {
namespace {

using Args = std::vector<std::string_view>;

boost::system::result<Loaded, Error> LoadWith(const Args& args, const EnvMap& env = {}) {
  return Load(std::span<const std::string_view>(args.data(), args.size()), env);
}

Config LoadOk(const Args& args, const EnvMap& env = {}) {
  const auto loaded = LoadWith(args, env);
  if (!loaded) FAIL("Load failed: " << loaded.error().message);
  REQUIRE(loaded->action == Action::kRun);
  return loaded->config;
}

std::string LoadError(const Args& args, const EnvMap& env = {}) {
  const auto loaded = LoadWith(args, env);
  REQUIRE_FALSE(loaded.has_value());
  return loaded.error().message;
}

// Any Config field as text, so one table can cover them all.
std::string Field(const Config& c, std::string_view field) {
  if (field == "host") return c.host;
  if (field == "port") return std::to_string(c.port);
  if (field == "account_id") return c.account_id;
  if (field == "region") return c.region;
  if (field == "data_dir") return c.data_dir.string();
  if (field == "in_memory") return c.in_memory ? "true" : "false";
  if (field == "threads") return std::to_string(c.threads);
  if (field == "log_level") return c.log_level;
  if (field == "body_limit_bytes") return std::to_string(c.body_limit_bytes);
  if (field == "read_timeout") return std::to_string(c.read_timeout.count());
  if (field == "max_connections") return std::to_string(c.max_connections);
  FAIL("unknown field " << field);
  return {};
}

TEST_CASE("With no flags and no environment every field has its default", "[config]") {
  const Config c = LoadOk({});
  CHECK(c.host == "127.0.0.1");
  CHECK(c.port == 4599);
  CHECK(c.account_id == "111122223333");
  CHECK(c.region == "us-east-1");
  CHECK(c.data_dir == "kmsd-data");
  CHECK_FALSE(c.in_memory);
  CHECK(c.threads == 0);
  CHECK(c.log_level == "info");
  CHECK(c.body_limit_bytes == 1048576);
  CHECK(c.read_timeout == std::chrono::seconds(30));
  CHECK(c.max_connections == 4096);
  CHECK(c.provenance.empty());
}

TEST_CASE("Each flag and environment variable sets its field", "[config]") {
  struct Case {
    Args args;
    EnvMap env;
    std::string_view field;
    std::string value;
    std::string provenance;
  };
  const auto c = GENERATE(values<Case>({
      {{"--host", "0.0.0.0"}, {}, "host", "0.0.0.0", "host=0.0.0.0 (flag --host)"},
      {{"--host=::1"}, {}, "host", "::1", "host=::1 (flag --host)"},
      {{}, {{"KMS_HOST", "10.1.2.3"}}, "host", "10.1.2.3", "host=10.1.2.3 (env KMS_HOST)"},
      {{"--port", "4600"}, {}, "port", "4600", "port=4600 (flag --port)"},
      {{"--port=0"}, {}, "port", "0", "port=0 (flag --port)"},
      {{"--port", "65535"}, {}, "port", "65535", "port=65535 (flag --port)"},
      {{}, {{"KMS_PORT", "5000"}}, "port", "5000", "port=5000 (env KMS_PORT)"},
      {{}, {{"PORT", "6000"}}, "port", "6000", "port=6000 (env PORT)"},
      {{"--account-id", "000000000000"},
       {},
       "account_id",
       "000000000000",
       "account_id=000000000000 (flag --account-id)"},
      {{},
       {{"KMS_ACCOUNT_ID", "123456789012"}},
       "account_id",
       "123456789012",
       "account_id=123456789012 (env KMS_ACCOUNT_ID)"},
      {{"--region", "eu-west-2"}, {}, "region", "eu-west-2", "region=eu-west-2 (flag --region)"},
      {{},
       {{"KMS_REGION", "us-gov-west-1"}},
       "region",
       "us-gov-west-1",
       "region=us-gov-west-1 (env KMS_REGION)"},
      {{"--data-dir", "/var/lib/kmsd"},
       {},
       "data_dir",
       "/var/lib/kmsd",
       "data_dir=/var/lib/kmsd (flag --data-dir)"},
      {{}, {{"KMS_DATA_PATH", "/data"}}, "data_dir", "/data", "data_dir=/data (env KMS_DATA_PATH)"},
      {{"--in-memory"}, {}, "in_memory", "true", "in_memory=true (flag --in-memory)"},
      {{"--threads", "8"}, {}, "threads", "8", "threads=8 (flag --threads)"},
      {{"--threads=256"}, {}, "threads", "256", "threads=256 (flag --threads)"},
      {{}, {{"KMS_THREADS", "4"}}, "threads", "4", "threads=4 (env KMS_THREADS)"},
      {{"--log-level", "debug"}, {}, "log_level", "debug", "log_level=debug (flag --log-level)"},
      {{}, {{"KMS_LOG_LEVEL", "warn"}}, "log_level", "warn", "log_level=warn (env KMS_LOG_LEVEL)"},
      {{"--log-level=error"}, {}, "log_level", "error", "log_level=error (flag --log-level)"},
      {{"--body-limit", "1024"},
       {},
       "body_limit_bytes",
       "1024",
       "body_limit_bytes=1024 (flag --body-limit)"},
      {{"--body-limit=67108864"},
       {},
       "body_limit_bytes",
       "67108864",
       "body_limit_bytes=67108864 (flag --body-limit)"},
      {{"--read-timeout", "5"}, {}, "read_timeout", "5", "read_timeout=5 (flag --read-timeout)"},
      {{"--max-connections", "8"},
       {},
       "max_connections",
       "8",
       "max_connections=8 (flag --max-connections)"},
      {{"--max-connections=1"},
       {},
       "max_connections",
       "1",
       "max_connections=1 (flag --max-connections)"},
      {{"--max-connections", "1048576"},
       {},
       "max_connections",
       "1048576",
       "max_connections=1048576 (flag --max-connections)"},
      {{},
       {{"KMS_MAX_CONNECTIONS", "100"}},
       "max_connections",
       "100",
       "max_connections=100 (env KMS_MAX_CONNECTIONS)"},
  }));
  CAPTURE(c.field, c.value);
  const Config config = LoadOk(c.args, c.env);
  CHECK(Field(config, c.field) == c.value);
  CHECK(config.provenance == std::vector<std::string>{c.provenance});
}

TEST_CASE("The --max-connections flag beats KMS_MAX_CONNECTIONS", "[config]") {
  const Config c = LoadOk({"--max-connections", "16"}, {{"KMS_MAX_CONNECTIONS", "32"}});
  CHECK(c.max_connections == 16);
  CHECK(c.provenance == std::vector<std::string>{"max_connections=16 (flag --max-connections)"});
}

TEST_CASE("A flag beats the environment", "[config]") {
  const Config c = LoadOk({"--port", "4600", "--region", "eu-west-1"},
                          {{"KMS_PORT", "5000"}, {"PORT", "6000"}, {"KMS_REGION", "ap-south-1"}});
  CHECK(c.port == 4600);
  CHECK(c.region == "eu-west-1");
  CHECK(c.provenance ==
        std::vector<std::string>{"port=4600 (flag --port)", "region=eu-west-1 (flag --region)"});
}

TEST_CASE("KMS_PORT beats PORT", "[config]") {
  CHECK(LoadOk({}, {{"KMS_PORT", "5000"}, {"PORT", "6000"}}).port == 5000);
  SECTION("an empty KMS_PORT counts as unset") {
    const Config c = LoadOk({}, {{"KMS_PORT", ""}, {"PORT", "6000"}});
    CHECK(c.port == 6000);
    CHECK(c.provenance == std::vector<std::string>{"port=6000 (env PORT)"});
  }
}

TEST_CASE("An empty environment variable leaves the default", "[config]") {
  const Config c = LoadOk({}, {{"KMS_REGION", ""}, {"KMS_HOST", ""}});
  CHECK(c.region == "us-east-1");
  CHECK(c.host == "127.0.0.1");
  CHECK(c.provenance.empty());
}

TEST_CASE("A value overridden by a flag is not validated", "[config]") {
  const Config c = LoadOk({"--port", "4600"}, {{"KMS_PORT", "not-a-port"}});
  CHECK(c.port == 4600);
}

TEST_CASE("The last of a repeated flag wins", "[config]") {
  const Config c = LoadOk({"--port", "1", "--port=2", "--port", "3"});
  CHECK(c.port == 3);
  CHECK(c.provenance == std::vector<std::string>{"port=3 (flag --port)"});
}

TEST_CASE("Provenance lists every field that is not at its default, in table order", "[config]") {
  const Config c =
      LoadOk({"--in-memory", "--threads", "2", "--host", "0.0.0.0"},
             {{"KMS_REGION", "eu-west-2"}, {"KMS_LOG_LEVEL", "debug"}, {"UNRELATED", "x"}});
  CHECK(c.provenance == std::vector<std::string>{
                            "host=0.0.0.0 (flag --host)",
                            "region=eu-west-2 (env KMS_REGION)",
                            "in_memory=true (flag --in-memory)",
                            "threads=2 (flag --threads)",
                            "log_level=debug (env KMS_LOG_LEVEL)",
                        });
}

TEST_CASE("Invalid values name the flag or variable and the value", "[config]") {
  struct Case {
    Args args;
    EnvMap env;
    std::string message;
  };
  const auto c = GENERATE(values<Case>({
      {{"--port", "65536"},
       {},
       "invalid value '65536' for flag --port: expected an integer from 0 to 65535"},
      {{"--port", "-1"},
       {},
       "invalid value '-1' for flag --port: expected an integer from 0 to 65535"},
      {{"--port=4599x"},
       {},
       "invalid value '4599x' for flag --port: expected an integer from 0 to 65535"},
      {{"--port="}, {}, "invalid value '' for flag --port: expected an integer from 0 to 65535"},
      {{"--port", " 80"},
       {},
       "invalid value ' 80' for flag --port: expected an integer from 0 to 65535"},
      {{},
       {{"KMS_PORT", "http"}},
       "invalid value 'http' for environment variable KMS_PORT: expected an integer from 0 to "
       "65535"},
      {{},
       {{"PORT", "99999"}},
       "invalid value '99999' for environment variable PORT: expected an integer from 0 to 65535"},
      {{"--account-id", "12345678901"},
       {},
       "invalid value '12345678901' for flag --account-id: expected exactly 12 digits"},
      {{"--account-id", "1234567890123"},
       {},
       "invalid value '1234567890123' for flag --account-id: expected exactly 12 digits"},
      {{},
       {{"KMS_ACCOUNT_ID", "11112222333a"}},
       "invalid value '11112222333a' for environment variable KMS_ACCOUNT_ID: expected exactly "
       "12 digits"},
      {{"--region", "us-east"},
       {},
       "invalid value 'us-east' for flag --region: expected a region name such as us-east-1"},
      {{"--region", "US-EAST-1"},
       {},
       "invalid value 'US-EAST-1' for flag --region: expected a region name such as us-east-1"},
      {{"--region", "a-b-c-d-1"},
       {},
       "invalid value 'a-b-c-d-1' for flag --region: expected a region name such as us-east-1"},
      {{"--region", "us--east-1"},
       {},
       "invalid value 'us--east-1' for flag --region: expected a region name such as us-east-1"},
      {{},
       {{"KMS_REGION", "us-east-1a"}},
       "invalid value 'us-east-1a' for environment variable KMS_REGION: expected a region name "
       "such as us-east-1"},
      {{"--threads", "257"},
       {},
       "invalid value '257' for flag --threads: expected an integer from 0 to 256"},
      {{},
       {{"KMS_THREADS", "-1"}},
       "invalid value '-1' for environment variable KMS_THREADS: expected an integer from 0 to "
       "256"},
      {{"--log-level", "verbose"},
       {},
       "invalid value 'verbose' for flag --log-level: expected one of debug, info, warn, error"},
      {{},
       {{"KMS_LOG_LEVEL", "INFO"}},
       "invalid value 'INFO' for environment variable KMS_LOG_LEVEL: expected one of debug, "
       "info, warn, error"},
      {{"--body-limit", "1023"},
       {},
       "invalid value '1023' for flag --body-limit: expected a byte count from 1024 (1 KiB) to "
       "67108864 (64 MiB)"},
      {{"--body-limit", "67108865"},
       {},
       "invalid value '67108865' for flag --body-limit: expected a byte count from 1024 (1 KiB) "
       "to 67108864 (64 MiB)"},
      {{"--read-timeout", "0"},
       {},
       "invalid value '0' for flag --read-timeout: expected a number of seconds from 1 to 3600"},
      {{"--max-connections", "0"},
       {},
       "invalid value '0' for flag --max-connections: expected an integer from 1 to 1048576"},
      {{"--max-connections", "1048577"},
       {},
       "invalid value '1048577' for flag --max-connections: expected an integer from 1 to "
       "1048576"},
      {{},
       {{"KMS_MAX_CONNECTIONS", "many"}},
       "invalid value 'many' for environment variable KMS_MAX_CONNECTIONS: expected an integer "
       "from 1 to 1048576"},
      {{"--host="}, {}, "invalid value '' for flag --host: expected a host name or IP address"},
      {{"--data-dir="}, {}, "invalid value '' for flag --data-dir: expected a directory path"},
  }));
  CAPTURE(c.args, c.env);
  CHECK(LoadError(c.args, c.env) == c.message);
}

TEST_CASE("Malformed command lines are rejected", "[config]") {
  CHECK(LoadError({"--bogus"}) == "unknown flag '--bogus' (see --help)");
  CHECK(LoadError({"--bogus=1"}) == "unknown flag '--bogus' (see --help)");
  CHECK(LoadError({"-p", "1"}) == "unknown flag '-p' (see --help)");
  CHECK(LoadError({"serve"}) == "unexpected argument 'serve' (see --help)");
  CHECK(LoadError({"--port"}) == "missing value for flag --port PORT");
  CHECK(LoadError({"--port", "--host", "x"}) == "missing value for flag --port PORT");
  CHECK(LoadError({"--in-memory=true"}) == "flag --in-memory takes no value");
  CHECK(LoadError({"--port", "1", "extra"}) == "unexpected argument 'extra' (see --help)");
}

TEST_CASE("The --help and --version flags return their action", "[config]") {
  const auto [args, action] = GENERATE(table<Args, Action>({
      {{"--help"}, Action::kHelp},
      {{"-h"}, Action::kHelp},
      {{"--version"}, Action::kVersion},
      {{"--port", "abc", "--help"}, Action::kHelp},  // values are not validated first
      {{"--help", "--bogus"}, Action::kHelp},        // the rest is not parsed
      {{"--version", "--help"}, Action::kVersion},   // the first one wins
  }));
  CAPTURE(args);
  const auto loaded = LoadWith(args, {{"KMS_PORT", "bad"}});
  REQUIRE(loaded.has_value());
  CHECK(loaded->action == action);
}

TEST_CASE("The help text lists every flag and environment variable with its default", "[config]") {
  const std::string help = HelpText();
  for (const std::string_view needle : {"--host HOST",
                                        "KMS_HOST",
                                        "127.0.0.1",
                                        "--port PORT",
                                        "env KMS_PORT, then PORT",
                                        "4599",
                                        "--data-dir DIR",
                                        "KMS_DATA_PATH",
                                        "kmsd-data",
                                        "--in-memory",
                                        "--region REGION",
                                        "KMS_REGION",
                                        "us-east-1",
                                        "--account-id ID",
                                        "KMS_ACCOUNT_ID",
                                        "111122223333",
                                        "--threads N",
                                        "KMS_THREADS",
                                        "--log-level LEVEL",
                                        "KMS_LOG_LEVEL",
                                        "info",
                                        "--body-limit BYTES",
                                        "1048576",
                                        "--read-timeout SECONDS",
                                        "default 30",
                                        "--max-connections N",
                                        "env KMS_MAX_CONNECTIONS; default 4096",
                                        "--help",
                                        "--version"}) {
    CAPTURE(needle);
    CHECK(help.find(needle) != std::string::npos);
  }
  CHECK(VersionText().starts_with("kmsd "));
}

TEST_CASE("EnvFromProcess copies NAME=value entries", "[config]") {
  std::string a = "KMS_REGION=eu-west-2", b = "EMPTY=", c = "WITH_EQ=a=b", d = "NOEQUALS",
              e = "KMS_REGION=second";
  std::vector<char*> environ_like = {a.data(), b.data(), c.data(), d.data(), e.data(), nullptr};
  const EnvMap env = EnvFromProcess(environ_like.data());
  CHECK(env == EnvMap{{"KMS_REGION", "eu-west-2"}, {"EMPTY", ""}, {"WITH_EQ", "a=b"}});
  CHECK(EnvFromProcess(nullptr).empty());
}

TEST_CASE("result::value() throws the config error", "[config]") {
  const auto loaded = LoadWith({"--port", "x"});
  CHECK_THROWS_WITH(loaded.value(),
                    "invalid value 'x' for flag --port: expected an integer from 0 to 65535");
}

TEST_CASE(
    "The allowed hosts (--allowed-hosts, KMS_ALLOWED_HOSTS) are a comma-separated list of names",
    "[config][regression][issue17]") {
  CHECK(LoadOk({}).allowed_hosts.empty());
  const Config flag = LoadOk({"--allowed-hosts", "kms, KMS.Internal,[FD00::1],10.0.0.5"});
  CHECK(flag.allowed_hosts ==
        std::vector<std::string>{"kms", "kms.internal", "[fd00::1]", "10.0.0.5"});
  CHECK(flag.provenance ==
        std::vector<std::string>{"allowed_hosts=kms, KMS.Internal,[FD00::1],10.0.0.5 (flag "
                                 "--allowed-hosts)"});
  CHECK(LoadOk({}, {{"KMS_ALLOWED_HOSTS", "kmsd"}}).allowed_hosts ==
        std::vector<std::string>{"kmsd"});
  CHECK(LoadOk({"--allowed-hosts=a"}, {{"KMS_ALLOWED_HOSTS", "b"}}).allowed_hosts ==
        std::vector<std::string>{"a"});
  for (const std::string bad : {"kms:4599", "kms,", ",kms", "a b", "http://kms", "[::1"}) {
    CAPTURE(bad);
    CHECK(LoadError({"--allowed-hosts", bad}) ==
          "invalid value '" + bad +
              "' for flag --allowed-hosts: expected comma-separated host names without ports, "
              "such as kms,kms.internal");
  }
}

}  // namespace
}  // namespace kms::config
