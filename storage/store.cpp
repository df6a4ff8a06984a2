#include "storage/store.hpp"

#include <stdexcept>

namespace kms::storage {

void throw_exception_from_error(const Error& e, const boost::source_location& /*loc*/) {
  throw std::runtime_error("storage error: " + e.message);
}

}  // namespace kms::storage
