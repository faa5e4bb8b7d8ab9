// vector_deque<T>: the few deque operations a short queue needs, over a std::vector. An empty
// std::deque already allocates its first 512-octet block and map (576 octets with libstdc++); a
// queue that holds zero to three requests most of its life is cheaper as a vector.
#pragma once
#include <cstddef>
#include <vector>

namespace aike {

template <class T>
class vector_deque {
 public:
  using iterator = typename std::vector<T>::iterator;
  using const_iterator = typename std::vector<T>::const_iterator;

  void push_back(const T& v) { v_.push_back(v); }
  void push_front(const T& v) { v_.insert(v_.begin(), v); }
  void pop_front() { v_.erase(v_.begin()); }
  T& front() { return v_.front(); }
  const T& front() const { return v_.front(); }
  bool empty() const { return v_.empty(); }
  std::size_t size() const { return v_.size(); }
  void clear() {
    v_.clear();
    v_.shrink_to_fit();
  }
  iterator begin() { return v_.begin(); }
  iterator end() { return v_.end(); }
  const_iterator begin() const { return v_.begin(); }
  const_iterator end() const { return v_.end(); }
  iterator erase(const_iterator first, const_iterator last) { return v_.erase(first, last); }
  iterator erase(const_iterator it) { return v_.erase(it); }
  template <class Pred>
  std::size_t erase_if(Pred p) {
    return std::erase_if(v_, p);
  }

 private:
  std::vector<T> v_;
};

}  // namespace aike
