#pragma once
/// @file
/// The token shim: include this header in exactly ONE .cpp file of a program that loads objects
/// with a BPF token (OpenOptions::bpf_token_path) while built with a libbpf older than 1.4
/// (Debian 12 has 1.1):
///
///     // main.cpp, and no other file
///     #include <ebpfpp/token_shim.hpp>
///
/// Why: libbpf before 1.4 knows no tokens and makes its bpf() calls itself, through libc's
/// syscall(). This header defines `syscall` in the program, which then stands in front of libc's
/// for libbpf (ELF symbol interposition; a static libbpf.a binds to it too). While an Object or
/// Skeleton with a token loads, the shim adds the token to the calls that take one
/// (BPF_MAP_CREATE, BPF_PROG_LOAD, BPF_BTF_LOAD); every other call, and every call at any other
/// time, goes to libc's syscall() unchanged (detail/token.hpp says how, and why this way).
///
/// Included twice, the program has two definitions of `syscall` and does not link; not included,
/// a load with a token throws an Error that says to include it. With libbpf 1.4+ it is not needed
/// (libbpf takes the token itself) and does nothing but pass calls through. A program linked
/// fully statically (libc too) has no libc syscall() to forward to: the shim aborts at its first
/// call with a message saying so.

#include "detail/token.hpp"

#include <cstdarg>

// glibc declares syscall() noexcept in C++ (__THROW); the definition says the same.
extern "C" long syscall(long number, ...) noexcept {
  // Six words, as libc's own syscall() takes (it loads all six argument registers whatever the
  // call passed): the ones the caller did not pass are never read by the kernel.
  va_list ap;
  va_start(ap, number);
  long args[6];
  for (long& a : args) a = va_arg(ap, long);
  va_end(ap);
  return ebpfpp::detail::shim_syscall(number, args);
}
