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

#include "detail/promises.hpp"

namespace ebpfpp {

template <class T = void>
class Task;

/// A coroutine that ends with a T (or void) or an exception. Move-only; [[nodiscard]]: a task
/// that is neither awaited nor spawned never runs.
template <class T>
class [[nodiscard]] Task {
public:
  using promise_type = detail::TaskPromise<T>;
  using handle_type = std::coroutine_handle<promise_type>;

  Task() noexcept = default;
  explicit Task(handle_type h) noexcept : h_(h) {}
  // Move-only: the frame has one owner, which destroys it.
  Task(Task&&) noexcept = default;
  Task& operator=(Task&&) noexcept = default;

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
    return Awaiter{h_.get()};
  }

  /// Whether the coroutine has finished (returned or thrown).
  bool done() const noexcept { return !h_ || h_.get().done(); }
  /// The coroutine handle (for schedulers such as EventLoop).
  handle_type handle() const noexcept { return h_.get(); }
  explicit operator bool() const noexcept { return static_cast<bool>(h_); }

private:
  detail::OwnedCoroutine<promise_type> h_;
};

template <class T>
Task<T> detail::TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> detail::TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}

} // namespace ebpfpp
