// File: result.hpp
//
// Result<T>: a value or a KmsError (abseil's StatusOr without a new dependency), and the
// two macros that pass a KmsError up the stack:
//
//   KMS_TRY(CheckSomething(x));                       // returns the error, if any
//   KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(...)); // declares `key` or returns the error
//
// The macros (base/try.hpp) pass the error through unchanged: in ops/, only a KmsError;
// translate crypto/storage errors first.
#pragma once

#include "base/try.hpp"

#include <boost/system/result.hpp>

#include "server/protocol/error.hpp"

namespace kms::server {

template <class T = void>
using Result = boost::system::result<T, KmsError>;

}  // namespace kms::server
