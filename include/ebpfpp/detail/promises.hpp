#pragma once
// The promise types of the two coroutine types (as cppcoro keeps them): GeneratorPromise for
// generator.hpp's Generator<T>, with YieldRun, the run of values a generator of `const X&` hands
// out without being resumed; and TaskPromise for task.hpp's Task<T>, which resumes its awaiter
// when it ends (symmetric transfer). Each public header includes this before its type.

#include "config.hpp"

#include <coroutine>
#include <cstddef>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace ebpfpp {

template <class T>
class Generator;
template <class T>
class Task;

namespace detail {

/// The one owner of a coroutine frame, what Generator and Task hold: move-only, empty after a
/// move, and it destroys the frame it still holds (a suspended coroutine's locals with it).
template <class Promise>
class OwnedCoroutine {
public:
  using handle_type = std::coroutine_handle<Promise>;

  OwnedCoroutine() noexcept = default;
  explicit OwnedCoroutine(handle_type h) noexcept : h_(h) {}
  OwnedCoroutine(OwnedCoroutine&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  OwnedCoroutine& operator=(OwnedCoroutine&& other) noexcept {
    if (this != &other) {
      if (h_) h_.destroy();
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  ~OwnedCoroutine() {
    if (h_) h_.destroy();
  }

  /// The handle; the frame stays this owner's.
  handle_type get() const noexcept { return h_; }
  explicit operator bool() const noexcept { return static_cast<bool>(h_); }

private:
  handle_type h_ = nullptr;
};

// --- Generator<T> ------------------------------------------------------------------------------

/// A run of values that a Generator of `const X&` hands out without resuming its coroutine:
/// `first` is the current one, each of the `remaining` others is `stride` bytes after the one
/// before. The coroutine `co_yield`s it as an lvalue of its own frame; the consumer's `++`
/// decrements `remaining` as it steps, so when the coroutine is resumed it is 0, and when the
/// generator is destroyed mid-run it tells how many values were never seen.
struct YieldRun {
  const void* first = nullptr;
  std::size_t stride = 0;
  std::size_t remaining = 0;
};

template <class T>
class GeneratorPromise {
public:
  using value_type = std::remove_cvref_t<T>;
  using reference = std::conditional_t<std::is_reference_v<T>, T, T&>;
  using pointer = std::add_pointer_t<reference>;

  Generator<T> get_return_object() noexcept;
  std::suspend_always initial_suspend() const noexcept { return {}; }
  std::suspend_always final_suspend() const noexcept { return {}; }

  std::suspend_always yield_value(std::remove_reference_t<reference>& value) noexcept {
    value_ = std::addressof(value);
    run_ = nullptr;
    return {};
  }
  // A temporary yielded by value lives until the coroutine resumes, which is after the
  // consumer has used it.
  std::suspend_always yield_value(std::remove_reference_t<reference>&& value) noexcept {
    value_ = std::addressof(value);
    run_ = nullptr;
    return {};
  }
  // A run of values in memory the coroutine keeps valid until it is resumed (or destroyed).
  std::suspend_always
  yield_value(YieldRun& run) noexcept requires std::is_const_v<std::remove_reference_t<reference>> {
    value_ = std::launder(static_cast<pointer>(run.first));
    run_ = &run;
    return {};
  }

  // Steps to the next value of the current run, if any is left: the iterator's fast path.
  bool advance_run() noexcept {
    if (!run_ || run_->remaining == 0) return false;
    --run_->remaining;
    value_ = std::launder(reinterpret_cast<pointer>(
        const_cast<std::byte*>(reinterpret_cast<const std::byte*>(value_)) + run_->stride));
    return true;
  }

  void unhandled_exception() noexcept { exception_ = std::current_exception(); }
  void return_void() noexcept {}

  template <class U>
  std::suspend_never await_transform(U&&) = delete;

  reference value() const noexcept { return static_cast<reference>(*value_); }
  void rethrow_if_exception() {
    if (exception_) std::rethrow_exception(std::exchange(exception_, nullptr));
  }

private:
  pointer value_ = nullptr;
  YieldRun* run_ = nullptr;
  std::exception_ptr exception_;
};

// --- Task<T> -----------------------------------------------------------------------------------

class TaskPromiseBase {
public:
  std::suspend_always initial_suspend() const noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) const noexcept {
      if (auto c = h.promise().continuation_) return c;
      return std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() const noexcept { return {}; }

  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  void set_continuation(std::coroutine_handle<> c) noexcept { continuation_ = c; }
  bool has_exception() const noexcept { return exception_ != nullptr; }
  void rethrow_if_exception() {
    if (exception_) std::rethrow_exception(std::exchange(exception_, nullptr));
  }

private:
  friend struct FinalAwaiter;
  std::coroutine_handle<> continuation_;
  std::exception_ptr exception_;
};

template <class T>
class TaskPromise : public TaskPromiseBase {
public:
  Task<T> get_return_object() noexcept;
  template <class U>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value_.emplace(std::forward<U>(v));
  }
  T take() {
    rethrow_if_exception();
    return std::move(*value_);
  }

private:
  std::optional<T> value_;
};

template <>
class TaskPromise<void> : public TaskPromiseBase {
public:
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() { rethrow_if_exception(); }
};

} // namespace detail
} // namespace ebpfpp
