// kmsd: a local AWS KMS endpoint.
//
// Start-up: load the configuration (flags > environment > defaults), prepare and lock the
// data directory, open the SQLite store (or an in-memory one), load every key into the
// registry, bind the port, print the listening line, serve until SIGINT/SIGTERM, then store
// the keys' last usage, close the store and release the data directory.
#include "base/clock.hpp"
#include "base/log.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <thread>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "crypto/random.hpp"
#include "server/process/startup_heap.hpp"
#include "server/service/kms_service.hpp"
#include "server/transport/server.hpp"
#include "storage/data_dir.hpp"
#include "storage/key_usage_tracker.hpp"
#include "storage/registry.hpp"
#include "storage/sqlite_store.hpp"

extern char** environ;

namespace {

using kms::Log;
using kms::LogLevel;

// Every connection holds a descriptor, and the usual default soft limit (1024) would cap
// kmsd near a thousand clients: raise the soft limit to the hard one (at most 1M).
void RaiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted =
      limit.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : std::min(limit.rlim_max, rlim_t{1} << 20);
  if (limit.rlim_cur >= wanted) return;
  limit.rlim_cur = wanted;
  setrlimit(RLIMIT_NOFILE, &limit);  // best effort: the old limit still works
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "kmsd: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  auto loaded = kms::config::Load(args, kms::config::EnvFromProcess(environ));
  if (!loaded) {
    std::fprintf(stderr, "kmsd: %s\nRun 'kmsd --help' for usage.\n",
                 loaded.error().message.c_str());
    return 2;
  }
  if (loaded->action == kms::config::Action::kHelp) {
    std::cout << kms::config::HelpText();
    return 0;
  }
  if (loaded->action == kms::config::Action::kVersion) {
    std::cout << "kmsd " << KMSD_VERSION << "\n";
    return 0;
  }
  const kms::config::Config& config = loaded->config;
  kms::SetLogLevel(kms::ParseLogLevel(config.log_level));

  RaiseDescriptorLimit();
  // OpenSSL's one-time set-up (providers, seeding the DRBG) takes milliseconds: do it beside
  // the database load and the binding of the port instead of in the first request.
  kms::crypto::Result<void> openssl_ready;
  std::thread openssl_init([&openssl_ready] { openssl_ready = kms::crypto::InitializeOpenSsl(); });
  struct Joiner {
    std::thread& t;
    ~Joiner() {
      if (t.joinable()) t.join();
    }
  } join_openssl{openssl_init};

  std::string db_path = ":memory:";
  // Holds the data directory's lock until the end of main, after the database is closed.
  std::optional<kms::storage::DataDirectory> data_dir;
  if (!config.in_memory) {
    // A directory kmsd cannot write or should not trust, or one another kmsd is serving, is
    // refused here, in one line naming it and the cause.
    auto prepared = kms::storage::PrepareDataDirectory(config.data_dir);
    if (!prepared) return Fail(prepared.error().message);
    data_dir.emplace(std::move(*prepared));
    db_path = data_dir->db_path().string();
  }
  // A new database file is built by the registry's committer once the server is serving
  // (PrepareStoreSoon below), off this path.
  auto store =
      kms::storage::SqliteStore::Open(db_path, kms::storage::SqliteStore::Creation::kDeferred);
  if (!store) return Fail("cannot open database " + db_path + ": " + store.error().message);
  auto registry = [&] {
    const kms::process::HugePageHeap heap(
        kms::process::EstimatedLoadBytes((*store)->KeyCountBound()));
    return kms::storage::Registry::Open(std::move(*store));
  }();
  if (!registry) return Fail("cannot load database " + db_path + ": " + registry.error().message);

  // The last usage of each key: in memory, flushed to the registry every second and on Stop().
  auto key_usage = std::make_unique<kms::storage::KeyUsageTracker>(**registry);
  kms::SystemClock clock;
  kms::server::KmsService service(**registry, *key_usage, clock, config);
  auto created = kms::transport::Server::Create(config, service);
  if (!created) return Fail(created.error().message);
  std::unique_ptr<kms::transport::Server> server = std::move(*created);
  openssl_init.join();
  if (!openssl_ready) return Fail("cannot initialise OpenSSL: " + openssl_ready.error().message);

  for (const auto& line : config.provenance) Log(LogLevel::kInfo, "config " + line);
  Log(LogLevel::kInfo, "kmsd " KMSD_VERSION " storage=" + db_path +
                           " keys=" + std::to_string((*registry)->KeyCount()) +
                           " threads=" + std::to_string(server->Threads()) +
                           " region=" + config.region + " account=" + config.account_id);
  // The one line on stdout: tests and scripts wait for it.
  std::printf("kmsd listening on http://%s:%u\n", config.host.c_str(),
              static_cast<unsigned>(server->Port()));
  std::fflush(stdout);
  (*registry)->PrepareStoreSoon();

  server->Run();
  server.reset();
  key_usage.reset();  // its last flush, committed before the registry closes
  registry->reset();  // closes the database
  data_dir.reset();   // then releases the data directory's lock
  Log(LogLevel::kInfo, "kmsd stopped");
  return 0;
}
