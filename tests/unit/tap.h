/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tiny TAP helper shared by the unit tests (header only).
 *
 *   ok(cond, "name %d", x);          one test point
 *   is_int(got, want, "name");       one test point, diagnoses a mismatch
 *   expect(cond, "fmt", ...);        a check inside the current test point:
 *                                    records (and diagnoses, a few times) a
 *                                    failure without emitting a point
 *   point("name");                   emits ok/not ok for all expect()s since
 *                                    the last point
 *   for_each_case(c, table) { ... }  walk a static table of cases
 *   return tap_done();               prints the plan "1..N"; exit status 1 if
 *                                    any point failed
 *
 * The plan comes last (valid TAP), so a test that crashes midway is still
 * reported as failed by prove.
 */
#ifndef PVB_TAP_H
#define PVB_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define TAP_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define for_each_case(c, table) \
	for ((c) = (table); (c) < (table) + TAP_ARRAY_SIZE(table); (c)++)

struct tap_state {
	int points;
	int failed_points;
	unsigned long checks;
	unsigned long check_fails;	/* since the last point */
};

static struct tap_state tap __attribute__((unused));

static inline void tap_vemit(int pass, const char *fmt, va_list ap)
{
	tap.points++;
	if (!pass)
		tap.failed_points++;
	printf("%sok %d - ", pass ? "" : "not ", tap.points);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
}

__attribute__((format(printf, 2, 3)))
static inline int ok(int pass, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vemit(pass, fmt, ap);
	va_end(ap);
	return pass;
}

__attribute__((format(printf, 1, 2)))
static inline void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

#define is_int(got, want, ...) ({					\
	long long __g = (got), __w = (want);				\
	if (__g != __w)							\
		diag("%s = %lld, want %lld", #got, __g, __w);		\
	ok(__g == __w, __VA_ARGS__);					\
})

__attribute__((format(printf, 4, 5)))
static inline int tap_expect(int pass, const char *file, int line,
			     const char *fmt, ...)
{
	va_list ap;

	tap.checks++;
	if (pass)
		return 1;
	if (++tap.check_fails <= 5) {
		printf("# check failed at %s:%d: ", file, line);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		putchar('\n');
	}
	return 0;
}

#define expect(cond, ...) \
	tap_expect(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

__attribute__((format(printf, 1, 2)))
static inline int point(const char *fmt, ...)
{
	int pass = tap.check_fails == 0;
	va_list ap;

	if (!pass)
		diag("%lu check(s) failed", tap.check_fails);
	tap.check_fails = 0;
	va_start(ap, fmt);
	tap_vemit(pass, fmt, ap);
	va_end(ap);
	return pass;
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap.points);
	if (tap.failed_points)
		diag("%d of %d failed", tap.failed_points, tap.points);
	fflush(stdout);
	return tap.failed_points ? 1 : 0;
}

#endif
