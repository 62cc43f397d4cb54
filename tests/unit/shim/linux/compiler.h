/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: compiler annotations the kernel's sparse understands. */
#ifndef SHIM_LINUX_COMPILER_H
#define SHIM_LINUX_COMPILER_H

#define __must_hold(x)
#define __acquires(x)
#define __releases(x)
#define __acquire(x)	((void)0)
#define __release(x)	((void)0)
#define __user
#define __iomem
#define __force
#define __rcu
#define __always_unused	__attribute__((unused))
#define __maybe_unused	__attribute__((unused))
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#ifndef __packed
#define __packed	__attribute__((packed))
#endif
#define __aligned(x)	__attribute__((aligned(x)))
#ifndef __always_inline
#define __always_inline	inline __attribute__((always_inline))
#endif
#define noinline	__attribute__((noinline))
#define fallthrough	__attribute__((fallthrough))
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define READ_ONCE(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define barrier()	__asm__ __volatile__("" ::: "memory")

#endif
