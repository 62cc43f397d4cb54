/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim for <linux/mutex.h>: a pthread mutex. */
#ifndef SHIM_LINUX_MUTEX_H
#define SHIM_LINUX_MUTEX_H

#include <pthread.h>

struct mutex {
	pthread_mutex_t m;
};

#define mutex_init(l)	pthread_mutex_init(&(l)->m, NULL)
#define mutex_lock(l)	pthread_mutex_lock(&(l)->m)
#define mutex_unlock(l)	pthread_mutex_unlock(&(l)->m)

#endif
