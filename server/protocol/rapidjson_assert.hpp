// File: rapidjson_assert.hpp
//
// Force-included (CMake target kmsd_rapidjson) before any RapidJSON header. RapidJSON only
// asserts value types (GetString() asserts IsString()); in a release build a failed assert
// would be undefined behaviour. Here it throws instead, and the dispatcher's one catch
// block turns the throw into a KMSInternalException response rather than a crash.
#pragma once

#include <stdexcept>

#define RAPIDJSON_ASSERT(x) \
  ((x) ? static_cast<void>(0) : throw std::logic_error("rapidjson assertion failed: " #x))
#define RAPIDJSON_HAS_STDSTRING 1
