// File: result.hpp
//
// Result<T>: a value or a KmsError (abseil's StatusOr without a new dependency), and the
// two macros that pass a KmsError up the stack:
//
//   KMS_TRY(CheckSomething(x));                       // returns the error, if any
//   KMS_ASSIGN_OR_RETURN(KeyPtr key, ResolveKey(...)); // declares `key` or returns the error
//
// Only a KmsError passes through these macros; translate crypto/storage errors first.
#pragma once

#include <utility>

#include <boost/system/result.hpp>

#include "server/protocol/error.hpp"

namespace kms::server {

template <class T = void>
using Result = boost::system::result<T, KmsError>;

}  // namespace kms::server

#define KMS_CONCAT_INNER_(a, b) a##b
#define KMS_CONCAT_(a, b) KMS_CONCAT_INNER_(a, b)

#define KMS_TRY(expr)                                                \
  do {                                                               \
    auto kms_try_result_ = (expr);                                   \
    if (!kms_try_result_) return std::move(kms_try_result_).error(); \
  } while (false)

#define KMS_ASSIGN_OR_RETURN(lhs, expr) \
  KMS_ASSIGN_OR_RETURN_IMPL_(KMS_CONCAT_(kms_result_, __LINE__), lhs, expr)

#define KMS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp) return std::move(tmp).error();         \
  lhs = std::move(*tmp)
