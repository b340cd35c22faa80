// Status / StatusOr: the error regime of gantry (see docs/architecture.md, "Errors").
//
// Data plane: parsers and per-request code return result enums or Status, never throw.
// Control plane: a failure is a Status that becomes a Gateway API condition or a validation
// message; libraries that throw are wrapped at the boundary.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <spdlog/spdlog.h>

namespace gantry {

class Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string message) { return Status(std::move(message)); }

  bool isOk() const { return !message_.has_value(); }
  explicit operator bool() const { return isOk(); }
  const std::string& message() const {
    static const std::string kEmpty;
    return message_ ? *message_ : kEmpty;
  }

 private:
  explicit Status(std::string m) : message_(std::move(m)) {}
  std::optional<std::string> message_;
};

template <typename T>
class StatusOr {
 public:
  StatusOr(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  StatusOr(Status s) : v_(std::move(s)) {      // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).isOk());
  }
  bool isOk() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return isOk(); }
  const Status& status() const {
    static const Status kOk;
    return isOk() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace gantry

// Invariants, named (STYLE.md section 5):
//  GANTRY_DEBUG_ASSERT: checked in debug builds only.
//  GANTRY_ASSERT:       always checked, fatal.
//  GANTRY_BUG:          fatal in debug; in release logs and continues (the caller must cope).
#define GANTRY_DEBUG_ASSERT(c) assert(c)
#define GANTRY_ASSERT(c)                                                         \
  do {                                                                           \
    if (!(c)) {                                                                  \
      spdlog::critical("assertion failed: {} at {}:{}", #c, __FILE__, __LINE__); \
      std::abort();                                                              \
    }                                                                            \
  } while (0)
#ifdef NDEBUG
#define GANTRY_BUG(msg) spdlog::error("BUG: {} at {}:{}", msg, __FILE__, __LINE__)
#else
#define GANTRY_BUG(msg)                                            \
  do {                                                             \
    spdlog::critical("BUG: {} at {}:{}", msg, __FILE__, __LINE__); \
    std::abort();                                                  \
  } while (0)
#endif
