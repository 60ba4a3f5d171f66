#pragma once
/// @file
/// Generator<T>: a lazy, single-pass sequence written as a coroutine (g++ 12 has no
/// std::generator). Event streams and TracePipe hand out their records through it.
///
///     ebpfpp::Generator<const Line&> lines() { ... co_yield line; ... }
///     for (const Line& l : lines()) { if (done) break; }
///
/// - Yielding a reference type hands out a reference to the coroutine's own object: no copy.
///   It is valid until the loop advances.
/// - An exception thrown in the body is rethrown by the begin() or ++ that resumed it.
/// - Breaking out of the loop, or destroying the generator mid-sequence, destroys the
///   coroutine's locals in order (their destructors run; nothing after the co_yield does).
/// - The body cannot co_await: a generator is synchronous (see event_loop.hpp for tasks).
/// - A generator of `const X&` may `co_yield` a detail::YieldRun (detail/promises.hpp): values
///   at a fixed stride in memory, which the loop steps through without resuming the coroutine
///   (an event stream's batch of records: one resume per batch instead of one per record).

#include "detail/config.hpp"

#include <coroutine>
#include <cstddef>
#include <exception>
#include <iterator>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "detail/promises.hpp"

namespace ebpfpp {

/// A lazy sequence of T produced by a coroutine; move-only; iterate it once.
template <class T>
class [[nodiscard]] Generator {
public:
  using promise_type = detail::GeneratorPromise<T>;
  using handle_type = std::coroutine_handle<promise_type>;

  class iterator {
  public:
    using iterator_category = std::input_iterator_tag;
    using difference_type = std::ptrdiff_t;
    using value_type = typename promise_type::value_type;
    using reference = typename promise_type::reference;
    using pointer = typename promise_type::pointer;

    iterator() noexcept = default;
    explicit iterator(handle_type h) noexcept : h_(h) {}

    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
      return !it.h_ || it.h_.done();
    }
    iterator& operator++() {
      // At the end (the body returned or threw, e.g. a timeout or a caught Error) stepping
      // again stays at the end: resuming a finished coroutine is undefined behaviour.
      if (!h_ || h_.done()) return *this;
      if (h_.promise().advance_run()) return *this; // the next value of a run: no resume
      h_.resume();
      if (h_.done()) h_.promise().rethrow_if_exception();
      return *this;
    }
    void operator++(int) { ++*this; }
    reference operator*() const noexcept { return h_.promise().value(); }
    pointer operator->() const noexcept { return std::addressof(operator*()); }

  private:
    handle_type h_ = nullptr;
  };

  Generator() noexcept = default;
  explicit Generator(handle_type h) noexcept : h_(h) {}
  // Move-only: the frame has one owner, which destroys it.
  Generator(Generator&&) noexcept = default;
  Generator& operator=(Generator&&) noexcept = default;

  /// Runs the body to its first co_yield (or its end); rethrows what it threw.
  iterator begin() {
    const handle_type h = h_.get();
    if (!h) return iterator();
    if (h.done()) return iterator(h); // begun and ended before: already at the end
    h.resume();
    if (h.done()) h.promise().rethrow_if_exception();
    return iterator(h);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

private:
  detail::OwnedCoroutine<promise_type> h_;
};

template <class T>
Generator<T> detail::GeneratorPromise<T>::get_return_object() noexcept {
  return Generator<T>(std::coroutine_handle<GeneratorPromise<T>>::from_promise(*this));
}

} // namespace ebpfpp
