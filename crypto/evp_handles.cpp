#include "crypto/evp_handles.hpp"

#include <array>
#include <utility>

#include <openssl/err.h>

namespace kms::crypto {

std::string DrainOpenSslErrors() {
  std::string out;
  const char* data = nullptr;
  int flags = 0;
  while (unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    std::array<char, 256> buf{};
    ERR_error_string_n(code, buf.data(), buf.size());
    if (!out.empty()) out += "; ";
    out += buf.data();
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      out += " (";
      out += data;
      out += ')';
    }
  }
  return out;
}

Error OpenSslError(std::string_view operation) {
  std::string message(operation);
  message += " failed";
  std::string details = DrainOpenSslErrors();
  if (!details.empty()) {
    message += ": ";
    message += details;
  }
  return Error{Error::Code::kOpenSsl, std::move(message)};
}

}  // namespace kms::crypto
