/*
 * Error reporting for the tool-side library: functions return 0 / -1 and
 * write a message a user can act on into the caller's buffer (the core's
 * is_fail, errmsg.h), so nothing under tools/lib, tools/music or
 * tools/corpus prints or exits on its own.
 */
#ifndef INSTSIM_ERRBUF_H
#define INSTSIM_ERRBUF_H

#include "errmsg.h"

#define TOOL_ERRLEN 512

#endif
