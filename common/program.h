/* Start-up and shutdown shared by every program: --help, configuration with a one-line error,
 * and signal handling without handlers (SIGINT/SIGTERM are blocked in every thread and taken by
 * main with sigwait, so no global flag is needed). */
#ifndef PS_PROGRAM_H
#define PS_PROGRAM_H

#include "config.h"

/* Handles --help (prints and exits 0), loads the configuration of `program_mask` (on error prints
 * one line naming the variable and exits 2), and sets up logging. */
void program_init(int argc, char **argv, const char *name, int program_mask, config_t *cfg);
/* Blocks SIGINT, SIGTERM and SIGPIPE; call before creating any thread so that all inherit it. */
void program_block_signals(void);
/* Waits for SIGINT or SIGTERM; returns the signal. */
int program_wait_signal(void);
/* Milliseconds since the epoch / a monotonic clock. */
long long now_ms(void);
long long mono_ms(void);
long long mono_us(void);

#endif
