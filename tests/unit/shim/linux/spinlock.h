/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim for <linux/spinlock.h>: a pthread mutex (threads of the
 * tests may be preempted while holding it; a spinning waiter would waste
 * the CPU the holder needs).  irqsave flags are carried but meaningless.
 */
#ifndef SHIM_LINUX_SPINLOCK_H
#define SHIM_LINUX_SPINLOCK_H

#include <pthread.h>

typedef struct {
	pthread_mutex_t m;
} spinlock_t;

#define DEFINE_SPINLOCK(x)	spinlock_t x = { PTHREAD_MUTEX_INITIALIZER }
#define spin_lock_init(l)	pthread_mutex_init(&(l)->m, NULL)
#define spin_lock(l)		pthread_mutex_lock(&(l)->m)
#define spin_unlock(l)		pthread_mutex_unlock(&(l)->m)
#define spin_lock_bh(l)		spin_lock(l)
#define spin_unlock_bh(l)	spin_unlock(l)
#define spin_lock_irq(l)	spin_lock(l)
#define spin_unlock_irq(l)	spin_unlock(l)
/*
 * A test may set shim_lock_hook: it runs before each spin_lock_irqsave()
 * takes its lock (the caller may hold other locks of its own), so
 * a test can change the pool at a chosen point of a search.  NULL: none.
 */
extern void (*shim_lock_hook)(spinlock_t *l);
#define spin_lock_irqsave(l, flags) \
	do {							\
		(flags) = 0;					\
		if (shim_lock_hook)				\
			shim_lock_hook(l);			\
		pthread_mutex_lock(&(l)->m);			\
	} while (0)
#define spin_unlock_irqrestore(l, flags) \
	do { (void)(flags); pthread_mutex_unlock(&(l)->m); } while (0)
#define lockdep_assert_held(l)	((void)(l))

#endif
