/* prodsentinel-pipeline: analysis workers and the debug API (port 8001). */
#include "pipeline.h"
#include "log.h"
#include "program.h"
#include "url_origin.h"

#include <curl/curl.h>
#include <malloc.h>
#include <string.h>

int main(int argc, char **argv)
{
    /* A window ranking allocates and frees ~12 MB of query results per request (pipeline/window_load.c):
     * keep 32 MiB of top pad so glibc does not hand the freed pages back to the kernel and fault them in
     * again on the next request (as backend/main.c does; measured: 2,900 page faults and 55 ms of CPU per
     * load of a 3-minute Train-Ticket window, 0 faults and 15 ms with the pad, on our VM). */
    mallopt(M_TOP_PAD, 32 * 1024 * 1024);
    pipeline_t app;
    memset(&app, 0, sizeof(app));
    program_init(argc, argv, "prodsentinel-pipeline", CFG_PIPELINE, &app.cfg);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any thread */
    program_block_signals();
    char err[512];
    if (pipeline_start(&app, err, sizeof(err)) != 0) {
        log_error("cannot start: %s", err);
        return 1;
    }
    char origin[URL_ORIGIN_MAX]; /* the base URL is a secret: its origin only */
    log_info("listening on port %d; LLM %s", app.cfg.pipeline_port,
             app.cfg.llm_base_url ? url_origin(app.cfg.llm_base_url, origin, sizeof(origin))
                                  : "not configured (deterministic reports)");
    int sig = program_wait_signal();
    log_info("signal %d: stopping", sig);
    pipeline_stop(&app);
    config_dispose(&app.cfg);
    curl_global_cleanup();
    return 0;
}
