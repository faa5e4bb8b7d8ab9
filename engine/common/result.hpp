// result<T>: a value or a typed error, since std::expected is C++23.
#pragma once
#include <string>
#include <utility>
#include <variant>

namespace aike {

// Error categories the SA state machine maps to notifies or log lines.
enum class errc {
  invalid_syntax,                 // -> INVALID_SYNTAX
  unsupported_critical_payload,   // -> UNSUPPORTED_CRITICAL_PAYLOAD
  invalid_major_version,          // -> INVALID_MAJOR_VERSION
  invalid_ke_payload,             // -> INVALID_KE_PAYLOAD
  no_proposal_chosen,             // -> NO_PROPOSAL_CHOSEN
  ts_unacceptable,                // -> TS_UNACCEPTABLE
  authentication_failed,          // -> AUTHENTICATION_FAILED
  integrity_check_failed,         // SK payload did not verify: drop silently
  unsupported,                    // algorithm or feature we do not implement
  invalid_argument,               // caller passed something unusable (config, key sizes)
  crypto_failure,                 // OpenSSL reported an error
  kernel_failure,                 // the kernel (netlink, XFRM) refused or failed an operation
};

const char* to_string(errc e);

struct error {
  errc code;
  std::string message;  // says what was wrong and where ("KE payload: length 3 < 4")
  // For UNSUPPORTED_CRITICAL_PAYLOAD the notify carries the payload type.
  int payload_type = 0;
};

template <class T>
class result {
 public:
  result(T v) : v_(std::move(v)) {}
  result(error e) : v_(std::move(e)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const error& err() const { return std::get<1>(v_); }

 private:
  std::variant<T, error> v_;
};

// For operations that return nothing on success.
struct ok_t {};
inline constexpr ok_t ok_v{};
using status = result<ok_t>;

inline error make_error(errc c, std::string msg, int payload_type = 0) {
  return error{c, std::move(msg), payload_type};
}

}  // namespace aike
