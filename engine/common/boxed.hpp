// boxed<T>: std::optional's interface with the value on the heap. For state an object needs
// rarely (a rekey in flight, an SA kept until its DELETE): empty it costs one pointer instead of
// sizeof(T), which for IKE SAs held by the hundred thousand is most of their size.
#pragma once
#include <memory>
#include <optional>
#include <utility>

namespace aike {

template <class T>
class boxed {
 public:
  boxed() = default;
  boxed(std::nullopt_t) {}
  boxed(T&& v) : p_(std::make_unique<T>(std::move(v))) {}
  boxed(const T& v) : p_(std::make_unique<T>(v)) {}
  boxed(boxed&&) noexcept = default;
  boxed& operator=(boxed&&) noexcept = default;
  boxed(const boxed& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
  boxed& operator=(const boxed& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
    return *this;
  }
  boxed& operator=(std::nullopt_t) {
    p_.reset();
    return *this;
  }
  boxed& operator=(T&& v) {
    if (p_)
      *p_ = std::move(v);
    else
      p_ = std::make_unique<T>(std::move(v));
    return *this;
  }
  boxed& operator=(const T& v) { return *this = T(v); }

  template <class... Args>
  T& emplace(Args&&... args) {
    p_ = std::make_unique<T>(std::forward<Args>(args)...);
    return *p_;
  }
  void reset() { p_.reset(); }
  bool has_value() const { return p_ != nullptr; }
  explicit operator bool() const { return p_ != nullptr; }
  T* operator->() { return p_.get(); }
  const T* operator->() const { return p_.get(); }
  T& operator*() { return *p_; }
  const T& operator*() const { return *p_; }
  T& value() {
    if (!p_) throw std::bad_optional_access();
    return *p_;
  }
  const T& value() const {
    if (!p_) throw std::bad_optional_access();
    return *p_;
  }

 private:
  std::unique_ptr<T> p_;
};

}  // namespace aike
