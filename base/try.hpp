// File: try.hpp
//
// KMS_TRY and KMS_ASSIGN_OR_RETURN: the one way kmsd passes an error up the stack, for every
// value-or-error type of the form boost::system::result<T, E> (server's Result<T> with a
// KmsError, storage's and crypto's Result<T> with their own Error), as abseil's
// RETURN_IF_ERROR / ASSIGN_OR_RETURN do for StatusOr:
//
//   KMS_TRY(CheckSomething(x));                        // returns the error, if any
//   KMS_ASSIGN_OR_RETURN(auto key, ResolveKey(...));   // declares `key` or returns the error
//
// The error passes through unchanged, so the enclosing function must return a result with the
// same error type: translate between layers (storage::Error -> KmsError) explicitly.
//
// Header-only and dependency-free, so that every module may use it.
#pragma once

#include <utility>

#define KMS_CONCAT_INNER_(a, b) a##b
#define KMS_CONCAT_(a, b) KMS_CONCAT_INNER_(a, b)

#define KMS_TRY(expr)                                                \
  do {                                                               \
    auto kms_try_result_ = (expr);                                   \
    if (!kms_try_result_) return std::move(kms_try_result_).error(); \
  } while (false)

#define KMS_ASSIGN_OR_RETURN(lhs, expr) \
  KMS_ASSIGN_OR_RETURN_IMPL_(KMS_CONCAT_(kms_result_, __LINE__), lhs, expr)

// `tmp` names a variable and `lhs` is a declaration ("auto key"): neither can be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define KMS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp) return std::move(tmp).error();         \
  lhs = std::move(*tmp)
// NOLINTEND(bugprone-macro-parentheses)
