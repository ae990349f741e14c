/* Stack traces (pipeline/analysis/stacktrace.h): real-looking traces in each format give the exception
 * type and message, the innermost application frame and the root of the cause chain; bounds hold on
 * long and odd input. */
#include "analysis/stacktrace.h"

#include "ts.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static analysis_stacktrace_t st;

static int parse(const char *text)
{
    return analysis_stacktrace_parse(text, strlen(text), &st);
}

/* a slice as a NUL-terminated string (static buffer: one at a time per assertion) */
static const char *s(an_slice_t x, char *buf)
{
    snprintf(buf, 512, "%.*s", (int)x.n, x.p ? x.p : "");
    return buf;
}

#define ck_slice(x, want)                                                                                    \
    do {                                                                                                     \
        char b_[512];                                                                                        \
        ck_assert_str_eq(s(x, b_), want);                                                                    \
    } while (0)

static void check_app_frame(const char *fn, const char *file, int line)
{
    const analysis_frame_t *f = analysis_stacktrace_app_frame(&st);
    ck_assert_ptr_nonnull(f);
    ck_slice(f->function, fn);
    ck_slice(f->file, file);
    ck_assert_int_eq(f->line, line);
}

START_TEST(jvm_two_caused_by)
{
    const char *t =
        "2026-01-12 10:00:01 ERROR [http-nio-8004-exec-3] c.a.p.ChargeController - charge failed\n"
        "com.acme.payment.PaymentException: charge failed for order ord-17\n"
        "\tat com.acme.payment.ChargeService.charge(ChargeService.java:41)\n"
        "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:897)\n"
        "\tat java.base/java.lang.Thread.run(Thread.java:833)\n"
        "Caused by: com.acme.inventory.StockClientException: reserve failed\n"
        "\tat com.acme.inventory.StockClient.reserve(StockClient.java:77)\n"
        "\t... 12 more\n"
        "Caused by: java.net.SocketTimeoutException: Read timed out\n"
        "\tat java.base/java.net.SocketInputStream.read(SocketInputStream.java:168)\n"
        "\tat com.acme.inventory.HttpTransport.call(HttpTransport.java:23) ~[inventory-client.jar:1.4]\n"
        "\t... 14 more\n";
    ck_assert_int_eq(parse(t), 0);
    ck_assert_int_eq(st.format, ANALYSIS_ST_JVM);
    ck_assert_int_eq(st.nchain, 3);
    ck_slice(st.chain[0].type, "com.acme.payment.PaymentException");
    ck_slice(st.chain[0].message, "charge failed for order ord-17");
    ck_slice(st.chain[1].type, "com.acme.inventory.StockClientException");
    ck_assert_int_eq(st.chain[1].omitted, 12);
    const analysis_exception_t *root = analysis_stacktrace_root(&st);
    ck_slice(root->type, "java.net.SocketTimeoutException");
    ck_slice(root->message, "Read timed out");
    ck_assert_int_eq(root->nframes, 2);
    /* the JDK frame is skipped; java.base/ module prefixes are dropped */
    ck_slice(st.frames[root->first_frame].function, "java.net.SocketInputStream.read");
    ck_assert_int_eq(st.frames[root->first_frame].is_app, 0);
    check_app_frame("com.acme.inventory.HttpTransport.call", "HttpTransport.java", 23);
}
END_TEST

START_TEST(jvm_thread_prefix_and_suppressed)
{
    const char *t = "Exception in thread \"main\" java.lang.IllegalStateException: pool closed\n"
                    "\tat org.springframework.jdbc.DataSourceUtils.get(DataSourceUtils.java:80)\n"
                    "\tat com.acme.orders.OrderRepo.save(OrderRepo.java:55)\n"
                    "\tSuppressed: java.io.IOException: close failed\n"
                    "\t\tat com.acme.orders.Closer.close(Closer.java:9)\n"
                    "\t\t... 3 more\n"
                    "\tat com.acme.orders.Main.main(Main.java:10)\n";
    ck_assert_int_eq(parse(t), 0);
    ck_assert_int_eq(st.format, ANALYSIS_ST_JVM);
    ck_assert_int_eq(st.nchain, 1); /* suppressed exceptions are not causes */
    ck_slice(st.chain[0].type, "java.lang.IllegalStateException");
    ck_assert_int_eq(st.chain[0].nframes, 3);
    check_app_frame("com.acme.orders.OrderRepo.save", "OrderRepo.java", 55);
}
END_TEST

START_TEST(python_chained)
{
    const char *t =
        "Traceback (most recent call last):\n"
        "  File \"/app/inventory/stock.py\", line 42, in reserve\n"
        "    raise OutOfStock(sku)\n"
        "inventory.errors.OutOfStock: sku-123 has 0 left\n"
        "\n"
        "The above exception was the direct cause of the following exception:\n"
        "\n"
        "Traceback (most recent call last):\n"
        "  File \"/usr/local/lib/python3.11/site-packages/flask/app.py\", line 880, in full_dispatch\n"
        "    rv = self.dispatch_request()\n"
        "  File \"/app/inventory/api.py\", line 17, in post_reserve\n"
        "    stock.reserve(body)\n"
        "    ^^^^^^^^^^^^^^^^^^^\n"
        "inventory.errors.ReserveFailed: could not reserve\n";
    ck_assert_int_eq(parse(t), 0);
    ck_assert_int_eq(st.format, ANALYSIS_ST_PYTHON);
    ck_assert_int_eq(st.nchain, 2);
    ck_slice(st.chain[0].type, "inventory.errors.ReserveFailed");
    ck_slice(st.chain[0].message, "could not reserve");
    /* innermost first: api.py (printed last) before flask */
    ck_slice(st.frames[st.chain[0].first_frame].file, "/app/inventory/api.py");
    ck_assert_int_eq(st.frames[st.chain[0].first_frame + 1].is_app, 0);
    const analysis_exception_t *root = analysis_stacktrace_root(&st);
    ck_slice(root->type, "inventory.errors.OutOfStock");
    ck_slice(root->message, "sku-123 has 0 left");
    check_app_frame("reserve", "/app/inventory/stock.py", 42);
}
END_TEST

START_TEST(python_during_handling)
{
    const char *t = "ERROR:root:request failed\n"
                    "Traceback (most recent call last):\n"
                    "  File \"/app/db.py\", line 7, in connect\n"
                    "    sock.connect(addr)\n"
                    "ConnectionRefusedError: [Errno 111] Connection refused\n"
                    "\n"
                    "During handling of the above exception, another exception occurred:\n"
                    "\n"
                    "Traceback (most recent call last):\n"
                    "  File \"/app/handler.py\", line 30, in handle\n"
                    "    db.connect()\n"
                    "  File \"/app/db.py\", line 9, in connect\n"
                    "    raise DatabaseUnavailable() from None\n"
                    "app.errors.DatabaseUnavailable\n";
    ck_assert_int_eq(parse(t), 0);
    ck_assert_int_eq(st.nchain, 2);
    ck_slice(st.chain[0].type, "app.errors.DatabaseUnavailable");
    ck_slice(st.chain[0].message, "");
    ck_slice(analysis_stacktrace_root(&st)->type, "ConnectionRefusedError");
    ck_slice(analysis_stacktrace_root(&st)->message, "[Errno 111] Connection refused");
    check_app_frame("connect", "/app/db.py", 7);
}
END_TEST

START_TEST(go_panic)
{
    const char *t =
        "panic: runtime error: invalid memory address or nil pointer dereference\n"
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x6b2f45]\n"
        "\n"
        "goroutine 41 [running]:\n"
        "panic({0x7a1c40?, 0xb0e9d0?})\n"
        "\t/usr/local/go/src/runtime/panic.go:770 +0x132\n"
        "github.com/acme/gateway/internal/orders.(*Handler).place(0xc0001a2000, {0x8c3e28, 0xc0002b4000})\n"
        "\t/src/internal/orders/handler.go:88 +0x1a5\n"
        "net/http.HandlerFunc.ServeHTTP(0xc000118000?, {0x8c3e28?, 0xc0002b4000?}, 0x0?)\n"
        "\t/usr/local/go/src/net/http/server.go:2171 +0x29\n"
        "created by net/http.(*Server).Serve in goroutine 1\n"
        "\t/usr/local/go/src/net/http/server.go:3285 +0x4b4\n"
        "\n"
        "goroutine 1 [IO wait]:\n"
        "internal/poll.runtime_pollWait(0x7f, 0x72)\n"
        "\t/usr/local/go/src/runtime/netpoll.go:345 +0x85\n";
    ck_assert_int_eq(parse(t), 0);
    ck_assert_int_eq(st.format, ANALYSIS_ST_GO);
    ck_assert_int_eq(st.nchain, 1);
    ck_slice(st.chain[0].type, "runtime.Error");
    ck_slice(st.chain[0].message, "runtime error: invalid memory address or nil pointer dereference");
    ck_assert_int_eq(st.chain[0].nframes, 4); /* the other goroutines are not read */
    check_app_frame("github.com/acme/gateway/internal/orders.(*Handler).place",
                    "/src/internal/orders/handler.go", 88);
}
END_TEST

START_TEST(go_repanic)
{
    const char *t = "panic: charge payment: context deadline exceeded [recovered]\n"
                    "\tpanic: place order ord-9: upstream failed\n"
                    "\n"
                    "goroutine 7 [running]:\n"
                    "main.recoverer.func1()\n"
                    "\t/app/main.go:40 +0x5c\n"
                    "main.placeOrder(...)\n"
                    "\t/app/orders.go:12 +0x1d\n";
    ck_assert_int_eq(parse(t), 0);
    ck_assert_int_eq(st.nchain, 2);
    ck_slice(st.chain[0].type, "panic");
    ck_slice(st.chain[0].message, "place order ord-9: upstream failed");
    ck_slice(analysis_stacktrace_root(&st)->message, "charge payment: context deadline exceeded");
    /* the root panic has no frames of its own: the enclosing one's are searched */
    check_app_frame("main.recoverer.func1", "/app/main.go", 40);
}
END_TEST

START_TEST(node_with_cause)
{
    const char *t =
        "Uncaught TypeError: Cannot read properties of undefined (reading 'id')\n"
        "    at chargeCard (/app/src/payment.js:42:17)\n"
        "    at async Promise.all (index 0)\n"
        "    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)\n"
        "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5) {\n"
        "  [cause]: Error: connect ECONNREFUSED 10.0.0.7:5432\n"
        "      at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)\n"
        "      at connectDb (/app/src/db.js:10:3)\n"
        "}\n";
    ck_assert_int_eq(parse(t), 0);
    ck_assert_int_eq(st.format, ANALYSIS_ST_NODE);
    ck_assert_int_eq(st.nchain, 2);
    ck_slice(st.chain[0].type, "TypeError");
    ck_slice(st.chain[0].message, "Cannot read properties of undefined (reading 'id')");
    ck_slice(st.frames[st.chain[0].first_frame].function, "chargeCard");
    ck_assert_int_eq(st.frames[st.chain[0].first_frame].line, 42);
    ck_slice(analysis_stacktrace_root(&st)->type, "Error");
    ck_slice(analysis_stacktrace_root(&st)->message, "connect ECONNREFUSED 10.0.0.7:5432");
    check_app_frame("connectDb", "/app/src/db.js", 10);
}
END_TEST

START_TEST(node_plain)
{
    const char *t = "Error [ERR_HTTP_HEADERS_SENT]: Cannot set headers after they are sent to the client\n"
                    "    at new NodeError (node:internal/errors:405:5)\n"
                    "    at ServerResponse.setHeader (node:_http_outgoing:648:11)\n"
                    "    at /app/routes/orders.js:31:9\n";
    ck_assert_int_eq(parse(t), 0);
    ck_assert_int_eq(st.format, ANALYSIS_ST_NODE);
    ck_slice(st.chain[0].type, "Error [ERR_HTTP_HEADERS_SENT]");
    check_app_frame("", "/app/routes/orders.js", 31);
}
END_TEST

START_TEST(dotnet_inner)
{
    const char *t =
        "Unhandled exception. System.InvalidOperationException: charge failed ---> "
        "Npgsql.NpgsqlException: Exception while reading from stream ---> System.TimeoutException: "
        "Timeout during reading attempt\n"
        "   at Npgsql.Internal.NpgsqlReadBuffer.Ensure(Int32 count) in /_/src/Npgsql/ReadBuffer.cs:line 120\n"
        "   --- End of inner exception stack trace ---\n"
        "   at Npgsql.NpgsqlConnector.ReadMessage()\n"
        "   at Acme.Payment.ChargeRepository.SaveAsync(Charge c) in "
        "C:\\src\\Payment\\ChargeRepository.cs:line 44\n"
        "   --- End of inner exception stack trace ---\n"
        "   at Acme.Payment.ChargeService.Charge(Order o) in C:\\src\\Payment\\ChargeService.cs:line 12\n"
        "   at Microsoft.AspNetCore.Mvc.Infrastructure.ActionMethodExecutor.Execute()\n";
    ck_assert_int_eq(parse(t), 0);
    ck_assert_int_eq(st.format, ANALYSIS_ST_DOTNET);
    ck_assert_int_eq(st.nchain, 3);
    ck_slice(st.chain[0].type, "System.InvalidOperationException");
    ck_slice(st.chain[0].message, "charge failed");
    ck_slice(st.chain[1].type, "Npgsql.NpgsqlException");
    ck_slice(analysis_stacktrace_root(&st)->type, "System.TimeoutException");
    ck_slice(analysis_stacktrace_root(&st)->message, "Timeout during reading attempt");
    ck_assert_int_eq(analysis_stacktrace_root(&st)->nframes, 1);
    ck_assert_int_eq(st.chain[0].nframes, 2);
    /* the root cause's only frame is Npgsql's: its enclosing exception's app frame is named */
    check_app_frame("Acme.Payment.ChargeRepository.SaveAsync", "C:\\src\\Payment\\ChargeRepository.cs", 44);
}
END_TEST

START_TEST(dotnet_core_layout)
{
    const char *t = "System.AggregateException: One or more errors occurred.\n"
                    " ---> System.Net.Http.HttpRequestException: Connection refused (inventory:8002)\n"
                    "   at Acme.Orders.InventoryClient.Reserve() in /src/InventoryClient.cs:line 31\n"
                    "   --- End of inner exception stack trace ---\n"
                    "   at Acme.Orders.Api.Place() in /src/Api.cs:line 9\n";
    ck_assert_int_eq(parse(t), 0);
    ck_assert_int_eq(st.format, ANALYSIS_ST_DOTNET);
    ck_assert_int_eq(st.nchain, 2);
    ck_slice(analysis_stacktrace_root(&st)->type, "System.Net.Http.HttpRequestException");
    check_app_frame("Acme.Orders.InventoryClient.Reserve", "/src/InventoryClient.cs", 31);
}
END_TEST

START_TEST(no_trace)
{
    ck_assert_int_eq(parse("order 42 failed: payment declined"), -1);
    ck_assert_int_eq(st.format, ANALYSIS_ST_NONE);
    ck_assert_int_eq(parse(""), -1);
    ck_assert_int_eq(analysis_stacktrace_parse(NULL, 0, &st), -1);
    ck_assert_ptr_null(analysis_stacktrace_root(&st));
    ck_assert_ptr_null(analysis_stacktrace_app_frame(&st));
    ck_assert_str_eq(analysis_stacktrace_format_name(ANALYSIS_ST_NONE), "none");
    ck_assert_str_eq(analysis_stacktrace_format_name(ANALYSIS_ST_DOTNET), "dotnet");
}
END_TEST

/* thousands of frames and causes: the caps hold and everything is counted */
START_TEST(bounds)
{
    size_t cap = 600000;
    char *t = malloc(cap);
    size_t n = (size_t)snprintf(t, cap, "java.lang.RuntimeException: top\n");
    for (int c = 0; c < 20; c++) {
        n += (size_t)snprintf(t + n, cap - n, "Caused by: com.acme.E%d: level %d\n", c, c);
        for (int f = 0; f < 100 && n < cap - 200; f++)
            n += (size_t)snprintf(t + n, cap - n, "\tat com.acme.C%d.m%d(C%d.java:%d)\n", c, f, c, f + 1);
    }
    ck_assert_int_eq(analysis_stacktrace_parse(t, n, &st), 0);
    ck_assert_int_eq(st.nchain, ANALYSIS_ST_MAX_CHAIN);
    ck_assert_int_eq(st.chain_dropped, 21 - ANALYSIS_ST_MAX_CHAIN);
    ck_assert_int_le(st.nframes, ANALYSIS_ST_MAX_FRAMES);
    ck_assert_int_eq(st.chain[1].nframes, ANALYSIS_ST_MAX_FRAMES_PER_EXC);
    ck_assert_int_eq(st.chain[1].omitted, 100 - ANALYSIS_ST_MAX_FRAMES_PER_EXC);
    free(t);
}
END_TEST

START_TEST(python_long_keeps_innermost)
{
    char t[20000];
    size_t n = (size_t)snprintf(t, sizeof(t), "Traceback (most recent call last):\n");
    for (int i = 1; i <= 60; i++)
        n += (size_t)snprintf(t + n, sizeof(t) - n, "  File \"/app/m.py\", line %d, in f%d\n    f%d()\n", i,
                              i, i + 1);
    snprintf(t + n, sizeof(t) - n, "RecursionError: maximum recursion depth exceeded\n");
    ck_assert_int_eq(parse(t), 0);
    ck_assert_int_eq(st.chain[0].nframes, ANALYSIS_ST_MAX_FRAMES_PER_EXC);
    ck_assert_int_eq(st.chain[0].omitted, 60 - ANALYSIS_ST_MAX_FRAMES_PER_EXC);
    check_app_frame("f60", "/app/m.py", 60);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("analysis_stacktrace");
    TCase *tc = tcase_create("formats");
    tcase_add_test(tc, jvm_two_caused_by);
    tcase_add_test(tc, jvm_thread_prefix_and_suppressed);
    tcase_add_test(tc, python_chained);
    tcase_add_test(tc, python_during_handling);
    tcase_add_test(tc, go_panic);
    tcase_add_test(tc, go_repanic);
    tcase_add_test(tc, node_with_cause);
    tcase_add_test(tc, node_plain);
    tcase_add_test(tc, dotnet_inner);
    tcase_add_test(tc, dotnet_core_layout);
    tcase_add_test(tc, no_trace);
    tcase_add_test(tc, bounds);
    tcase_add_test(tc, python_long_keeps_innermost);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
