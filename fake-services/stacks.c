/* Language-flavoured stack traces of the simulated services (see stacks.h). The frames are made up but
 * shaped exactly like the real runtimes print them. */
#include "stacks.h"

#include <stdio.h>
#include <string.h>

void stacks_java_db_timeout(char *out, size_t outlen, const char *order_id, int timeout_ms)
{
    snprintf(out, outlen,
             EXC_DB_TIMEOUT
             ": query timed out after %d ms (statement_timeout) charging order %s\n"
             "\tat com.acme.payment.db.ChargeRepository.insert(ChargeRepository.java:88)\n"
             "\tat com.acme.payment.ChargeService.charge(ChargeService.java:41)\n"
             "\tat com.acme.payment.api.ChargeController.post(ChargeController.java:27)\n"
             "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:897)\n"
             "\tat org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:"
             "166)\n"
             "\tat java.base/java.lang.Thread.run(Thread.java:833)\n",
             timeout_ms, order_id);
}

void stacks_java_wrapped(char *out, size_t outlen, const char *order_id, const char *cause_type,
                         const char *cause_message)
{
    snprintf(out, outlen,
             EXC_PAYMENT
             ": could not reserve stock for order %s\n"
             "\tat com.acme.payment.ChargeService.reserve(ChargeService.java:63)\n"
             "\tat com.acme.payment.ChargeService.charge(ChargeService.java:39)\n"
             "\tat com.acme.payment.api.ChargeController.post(ChargeController.java:27)\n"
             "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:897)\n"
             "\tat java.base/java.lang.Thread.run(Thread.java:833)\n"
             "Caused by: %s: %s\n"
             "\tat com.acme.payment.client.InventoryClient.reserve(InventoryClient.java:52)\n"
             "\tat com.acme.payment.ChargeService.reserve(ChargeService.java:61)\n"
             "\t... 4 more\n",
             order_id, cause_type, cause_message);
}

void stacks_python_out_of_stock(char *out, size_t outlen, const char *order_id, const char *sku)
{
    snprintf(out, outlen,
             "Traceback (most recent call last):\n"
             "  File \"/usr/local/lib/python3.11/site-packages/flask/app.py\", line 1484, in "
             "full_dispatch_request\n"
             "    rv = self.dispatch_request()\n"
             "  File \"/app/inventory/api.py\", line 31, in post_reserve\n"
             "    stock.reserve(order_id, items)\n"
             "  File \"/app/inventory/stock.py\", line 57, in reserve\n"
             "    raise OutOfStock(sku, available=0)\n" EXC_OUT_OF_STOCK ": %s has 0 left (order %s)\n",
             sku, order_id);
}

void stacks_go_upstream(char *out, size_t outlen, const char *order_id, const char *chain)
{
    snprintf(out, outlen,
             "panic: place order %s: %s [recovered]\n\n"
             "goroutine 57 [running]:\n"
             "main.(*Gateway).placeOrder(0xc0000a4000, {0xc000128000, 0x1a})\n"
             "\t/app/gateway/orders.go:74 +0x1d4\n"
             "main.(*Gateway).handleOrders(0xc0000a4000, {0x7f3a2c, 0xc0001c6000}, 0xc0001b4000)\n"
             "\t/app/gateway/orders.go:41 +0x2a1\n"
             "net/http.HandlerFunc.ServeHTTP(0xc0000b2000, {0x7f3a2c, 0xc0001c6000}, 0xc0001b4000)\n"
             "\t/usr/local/go/src/net/http/server.go:2136 +0x29\n"
             "net/http.(*conn).serve(0xc0001a2000, {0x7f4b10, 0xc000190000})\n"
             "\t/usr/local/go/src/net/http/server.go:2039 +0x8f5\n",
             order_id, chain);
}

void stacks_injected(char *out, size_t outlen, char *type, size_t typelen, const char *service,
                     const char *order_id)
{
    if (strcmp(service, "payment") == 0) {
        snprintf(type, typelen, "java.lang.IllegalStateException");
        snprintf(out, outlen,
                 "java.lang.IllegalStateException: connection pool exhausted (injected fault, order %s)\n"
                 "\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:181)\n"
                 "\tat com.acme.payment.db.ChargeRepository.insert(ChargeRepository.java:80)\n"
                 "\tat com.acme.payment.ChargeService.charge(ChargeService.java:41)\n"
                 "\tat java.base/java.lang.Thread.run(Thread.java:833)\n",
                 order_id);
    } else if (strcmp(service, "inventory") == 0) {
        snprintf(type, typelen, "RuntimeError");
        snprintf(out, outlen,
                 "Traceback (most recent call last):\n"
                 "  File \"/app/inventory/api.py\", line 29, in post_reserve\n"
                 "    pool = db.acquire(timeout=0.1)\n"
                 "  File \"/app/inventory/db.py\", line 18, in acquire\n"
                 "    raise RuntimeError(\"worker overloaded\")\n"
                 "RuntimeError: worker overloaded (injected fault, order %s)\n",
                 order_id);
    } else {
        snprintf(type, typelen, "runtime.Error");
        snprintf(out, outlen,
                 "panic: runtime error: invalid memory address or nil pointer dereference (injected fault, "
                 "order %s) [recovered]\n\n"
                 "goroutine 61 [running]:\n"
                 "main.(*Gateway).placeOrder(0xc0000a4000, {0xc000128000, 0x1a})\n"
                 "\t/app/gateway/orders.go:69 +0x112\n"
                 "net/http.HandlerFunc.ServeHTTP(0xc0000b2000, {0x7f3a2c, 0xc0001c6000}, 0xc0001b4000)\n"
                 "\t/usr/local/go/src/net/http/server.go:2136 +0x29\n",
                 order_id);
    }
}
