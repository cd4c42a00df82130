// Errors as values at module boundaries.
//
// A Status is either ok or carries an error code and a human-readable message. Result<T> holds a value
// or a non-ok Status. The codes mix a few generic conditions with the OCI distribution-spec error codes,
// so that the rules in registry/ can say exactly which spec error applies; api/ maps every code to an
// HTTP status and OCI error body in one place (api/errors.cc).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace berth {

enum class Errc {
  ok = 0,
  // Generic conditions.
  not_found,         // the thing asked for does not exist
  already_exists,    // creating something that exists
  invalid_argument,  // malformed input not covered by a more specific code
  conflict,          // a concurrent change won (compare-and-set failed)
  io_error,          // the disk or a backend failed
  unavailable,       // a backend is unreachable
  internal,          // a bug or an impossible state
  // OCI distribution-spec codes (spec.md "Error Codes").
  blob_unknown,
  blob_upload_invalid,
  blob_upload_unknown,
  digest_invalid,
  manifest_blob_unknown,
  manifest_invalid,
  manifest_unknown,
  name_invalid,
  name_unknown,
  size_invalid,
  unauthorized,
  denied,
  unsupported,
  too_many_requests,
  // Not a spec code: a Range / Content-Range that cannot be satisfied (HTTP 416).
  range_invalid,
  // Not a spec code: a request body over the allowed size (HTTP 413).
  too_large,
  // Not a spec code: the registry's disk or database is full (HTTP 507, the message kept).
  insufficient_storage,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == Errc::ok; }
  Errc code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Errc code_ = Errc::ok;
  std::string message_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT
  Result(Errc code, std::string message) : v_(Status(code, std::move(message))) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

// Evaluates expr (a Status or Result); returns its Status from the enclosing function if it failed.
#define BERTH_RETURN_IF_ERROR(expr)                   \
  do {                                                \
    auto&& berth_status_or_ = (expr);                 \
    if (!berth_status_or_.ok()) {                     \
      return ::berth::status_of(berth_status_or_);    \
    }                                                 \
  } while (0)

inline const Status& status_of(const Status& s) { return s; }
template <class T>
const Status& status_of(const Result<T>& r) { return r.status(); }

}  // namespace berth
