#include "base/fault_injection.hpp"

#include <stdexcept>
#include <string>

namespace kms::fault {

namespace {
unsigned Bit(Stage stage) { return 1u << static_cast<unsigned>(stage); }
}  // namespace

namespace detail {

std::atomic<unsigned> armed{0};

void Trip(Stage stage) {
  if ((armed.fetch_and(~Bit(stage), std::memory_order_relaxed) & Bit(stage)) != 0) {
    throw std::runtime_error("injected fault at stage " +
                             std::to_string(static_cast<unsigned>(stage)));
  }
}

}  // namespace detail

void Arm(Stage stage) { detail::armed.fetch_or(Bit(stage), std::memory_order_relaxed); }

void DisarmAll() { detail::armed.store(0, std::memory_order_relaxed); }

}  // namespace kms::fault
