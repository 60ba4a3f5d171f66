#pragma once
/// @file
/// Task<T>: a lazily started coroutine that produces a T (or throws), awaited by another task or
/// run by an EventLoop (event_loop.hpp).
///
///     ebpfpp::Task<int> count(ebpfpp::EventLoop& loop, RingBuffer<event>& rb) {
///       int n = 0;
///       for (;;) { const event& e = co_await loop.next(rb); if (e.last) co_return n; ++n; }
///     }
///     ebpfpp::Task<> main_task(...) { int n = co_await count(loop, rb); ... }
///
/// A task starts when it is first awaited (or spawned on a loop) and resumes its awaiter when it
/// ends (symmetric transfer: a chain of tasks does not grow the stack). An exception thrown in it
/// comes out of the co_await that awaited it, or out of EventLoop::run() for a spawned task.
/// Destroying a Task destroys its coroutine wherever it is suspended (locals are destroyed).

#include "detail/config.hpp"

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace ebpfpp {

template <class T = void>
class Task;

namespace detail {

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

/// A coroutine that ends with a T (or void) or an exception. Move-only; [[nodiscard]]: a task
/// that is neither awaited nor spawned never runs.
template <class T>
class [[nodiscard]] Task {
public:
  using promise_type = detail::TaskPromise<T>;
  using handle_type = std::coroutine_handle<promise_type>;

  Task() noexcept = default;
  explicit Task(handle_type h) noexcept : h_(h) {}
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (h_) h_.destroy();
  }

  /// Starts (or continues) the task inside the awaiting coroutine; yields its result or
  /// rethrows its exception.
  auto operator co_await() && noexcept {
    struct Awaiter {
      handle_type h;
      bool await_ready() const noexcept { return !h || h.done(); }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        h.promise().set_continuation(awaiting);
        return h;
      }
      T await_resume() { return h.promise().take(); }
    };
    return Awaiter{h_};
  }

  /// Whether the coroutine has finished (returned or thrown).
  bool done() const noexcept { return !h_ || h_.done(); }
  /// The coroutine handle (for schedulers such as EventLoop).
  handle_type handle() const noexcept { return h_; }
  explicit operator bool() const noexcept { return h_ != nullptr; }

private:
  handle_type h_ = nullptr;
};

template <class T>
Task<T> detail::TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> detail::TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}

} // namespace ebpfpp
