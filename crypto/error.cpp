#include "crypto/error.hpp"

#include <stdexcept>

#include <boost/throw_exception.hpp>

namespace kms::crypto {

std::string_view CodeName(Error::Code code) {
  switch (code) {
    case Error::Code::kAuthFailed:
      return "AuthFailed";
    case Error::Code::kBadInput:
      return "BadInput";
    case Error::Code::kOpenSsl:
      return "OpenSsl";
  }
  return "Unknown";
}

std::ostream& operator<<(std::ostream& os, const Error& e) {
  return os << CodeName(e.code) << ": " << e.message;
}

std::ostream& operator<<(std::ostream& os, const Result<void>& r) {
  if (r.has_value()) return os << "ok";
  return os << r.error();
}

void throw_exception_from_error(const Error& e, const boost::source_location& loc) {
  std::string what = "crypto error ";
  what += CodeName(e.code);
  what += ": ";
  what += e.message;
  boost::throw_exception(std::runtime_error(what), loc);
}

}  // namespace kms::crypto
