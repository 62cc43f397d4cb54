// SPDX-License-Identifier: GPL-2.0
/*
 * The one place pvbounce's trace events are instantiated
 * (include/pvbounce/trace.h describes them).
 */
#define CREATE_TRACE_POINTS
#include <pvbounce/trace.h>
