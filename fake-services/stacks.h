/* Stack traces as the real services would log them, one language each, so the analysis sees every
 * format it must parse: payment writes Java (frames "\tat ...", "Caused by:"), inventory Python
 * ("Traceback (most recent call last):"), the gateway Go (a recovered panic with goroutine frames and
 * a wrapped error chain). Pure: each writes NUL-terminated text into out (truncated to outlen). */
#ifndef PS_FAKE_STACKS_H
#define PS_FAKE_STACKS_H

#include <stddef.h>

/* Exception types the scenarios raise (docs/scenarios.md). */
#define EXC_DB_TIMEOUT "com.acme.payment.DbTimeoutException"
#define EXC_PAYMENT "com.acme.payment.PaymentException"
#define EXC_OUT_OF_STOCK_JAVA "com.acme.inventory.OutOfStockException"
#define EXC_OUT_OF_STOCK "inventory.errors.OutOfStock"

/* payment: the charge INSERT hit the statement timeout. */
void stacks_java_db_timeout(char *out, size_t outlen, const char *order_id, int timeout_ms);
/* payment: reserving stock failed; a PaymentException wrapping `cause_type: cause_message`. */
void stacks_java_wrapped(char *out, size_t outlen, const char *order_id, const char *cause_type,
                         const char *cause_message);
/* inventory: OutOfStock raised while selecting stock. */
void stacks_python_out_of_stock(char *out, size_t outlen, const char *order_id, const char *sku);
/* gateway: the payment call failed; `chain` is the Go error chain ("charge payment: Post ...: ..."). */
void stacks_go_upstream(char *out, size_t outlen, const char *order_id, const char *chain);
/* Any service: an injected fault (POST /control/fault error_rate), in the service's language. Writes
 * the exception type into type (typelen bytes). `service` is gateway, payment or inventory. */
void stacks_injected(char *out, size_t outlen, char *type, size_t typelen, const char *service,
                     const char *order_id);

#endif
