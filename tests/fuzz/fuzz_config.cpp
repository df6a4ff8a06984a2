// File: fuzz_config.cpp
//
// libFuzzer harness for config::Load (config/config.hpp) and EnvFromProcess.
//
// Input: entries separated by '\n' or NUL. The entries before the first empty one are the
// command-line arguments (argv without argv[0]); the entries after it are the environment, as
// `environ` holds it ("NAME=value"), turned into an EnvMap by EnvFromProcess.
//
// Invariants (abort on failure): Load never throws or crashes; when it accepts a run
// configuration, writing that configuration back out as flags (--name=value, empty
// environment) loads again to the same configuration, so validation accepts every value it
// lets through and a value means the same from the environment as from a flag.
// Single-threaded.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace {

namespace config = kms::config;

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_config: invariant failed: %s\n", what);
  std::abort();
}

bool SameSettings(const config::Config& a, const config::Config& b) {
  return a.host == b.host && a.port == b.port && a.account_id == b.account_id &&
         a.region == b.region && a.data_dir == b.data_dir && a.in_memory == b.in_memory &&
         a.threads == b.threads && a.log_level == b.log_level &&
         a.body_limit_bytes == b.body_limit_bytes && a.read_timeout == b.read_timeout &&
         a.max_connections == b.max_connections && a.allowed_hosts == b.allowed_hosts;
}

// `c` as the flags that set every field to its value.
std::vector<std::string> AsFlags(const config::Config& c) {
  std::vector<std::string> flags = {
      "--host=" + c.host,
      "--port=" + std::to_string(c.port),
      "--account-id=" + c.account_id,
      "--region=" + c.region,
      "--data-dir=" + c.data_dir.string(),
      "--threads=" + std::to_string(c.threads),
      "--log-level=" + c.log_level,
      "--body-limit=" + std::to_string(c.body_limit_bytes),
      "--read-timeout=" + std::to_string(c.read_timeout.count()),
      "--max-connections=" + std::to_string(c.max_connections),
  };
  if (c.in_memory) flags.emplace_back("--in-memory");
  if (!c.allowed_hosts.empty()) {
    std::string names;
    for (const std::string& name : c.allowed_hosts) names += (names.empty() ? "" : ",") + name;
    flags.push_back("--allowed-hosts=" + names);
  }
  return flags;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> args;
  std::vector<std::string> env_entries;  // NUL-terminated copies for an environ-style array
  bool in_env = false;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find_first_of(std::string_view("\n\0", 2), pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view entry = text.substr(pos, end - pos);
    pos = end + 1;
    if (!in_env && entry.empty()) {
      in_env = true;
    } else if (in_env) {
      env_entries.emplace_back(entry);
    } else {
      args.push_back(entry);
    }
  }
  std::vector<char*> envp;
  for (std::string& e : env_entries) envp.push_back(e.data());
  envp.push_back(nullptr);
  const config::EnvMap env = config::EnvFromProcess(envp.data());

  auto loaded = config::Load(args, env);
  if (!loaded) {
    Check(!loaded.error().message.empty(), "a rejection without a message");
    return 0;
  }
  if (loaded->action != config::Action::kRun) return 0;

  const std::vector<std::string> flags = AsFlags(loaded->config);
  const std::vector<std::string_view> flag_views(flags.begin(), flags.end());
  auto again = config::Load(flag_views, {});
  if (!again) std::fprintf(stderr, "fuzz_config: %s\n", again.error().message.c_str());
  Check(again.has_value(), "an accepted configuration, written as flags, was rejected");
  Check(again->action == config::Action::kRun, "the flags of a configuration were not a run");
  Check(SameSettings(loaded->config, again->config),
        "an accepted configuration, written as flags, loaded differently");
  return 0;
}
