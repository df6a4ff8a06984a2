// File: crypto/error.hpp
//
// The crypto layer's one error type and its value-or-error Result (a status-or-value, as
// abseil's StatusOr) built on boost::system::result. Codes are generic; the AWS
// meaning (InvalidCiphertextException, KMSInternalException, ...) is attached in server/ops.
//
//   crypto::Result<crypto::SecureBytes> plain = crypto::OpenBlob(blob, key, context);
//   if (!plain) {
//     if (plain.error().code == crypto::Error::Code::kAuthFailed) ...   // wrong key/context
//   }
//
// Thread safety: plain values; no shared state.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

namespace kms::crypto {

struct Error {
  enum class Code {
    kAuthFailed,  // authentication failed: GCM tag mismatch (wrong key, context or tampered data)
    kBadInput,    // caller passed something malformed: wrong key/IV size, unparsable blob
    kOpenSsl,     // OpenSSL itself failed; `message` holds the drained error queue
  };
  Code code;
  std::string message;
};

// "AuthFailed", "BadInput" or "OpenSsl"; for logs and test output.
std::string_view CodeName(Error::Code code);

template <class T>
using Result = boost::system::result<T, Error>;

// Streams "<CodeName>: <message>".
std::ostream& operator<<(std::ostream& os, const Error& e);

// Streams "ok" or the error. Boost's own operator<< for result requires T to be streamable and
// fails to compile (rather than dropping out of overload resolution) when it is not, which
// breaks Catch2's `REQUIRE(r)` on e.g. Result<Bytes>. These overloads are more specialised, so
// they win for every Result<T>; a value is never printed (it may be secret).
template <class T>
std::ostream& operator<<(std::ostream& os, const Result<T>& r) {
  if (r.has_value()) return os << "ok";
  return os << r.error();
}
std::ostream& operator<<(std::ostream& os, const Result<void>& r);

// ADL hook so Result<T>::value() can throw on error. Throws std::runtime_error carrying the
// code name and message. Handlers test `if (!r)` instead of relying on this.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

}  // namespace kms::crypto
