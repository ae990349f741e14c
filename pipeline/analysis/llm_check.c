/* The LLM answer check (see llm_check.h). */
#include "llm_check.h"
#include "alloc.h"
#include "strutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BODY (4 * 1024 * 1024)
#define MAX_TEXT 4000 /* summary, impact */
#define MAX_NAME 512  /* root_cause fields */
#define MAX_IDS 50    /* evidence entries */
#define MAX_ID_LEN 160
#define MAX_REMEDIATION 10
#define MAX_REMEDIATION_LEN 1000
#define SHOW 80 /* bytes of an offending value quoted in a reason */

/* ---------------- what the evidence lets an answer cite ---------------- */

typedef struct {
    const char **v;
    size_t n, cap;
} strset_t;

static void set_add(strset_t *s, const char *x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = xrealloc(s->v, s->cap * sizeof(char *));
    }
    s->v[s->n++] = x;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int set_has(const strset_t *s, const char *x)
{
    return s->n && bsearch(&x, s->v, s->n, sizeof(char *), cmp_str) != NULL;
}

typedef struct {
    strset_t services, spans, ids;
} known_t;

static int key_in(const char *key, const char *const *keys)
{
    for (; key && *keys; keys++)
        if (strcmp(key, *keys) == 0) return 1;
    return 0;
}

static void collect(const json_t *v, const char *key, known_t *k, int depth)
{
    static const char *const id_keys[] = {"id", "source", "swallowed_by", "roots", "critical_path", NULL};
    if (depth > 32) return;
    if (json_is_object(v)) {
        const char *kk;
        json_t *x;
        json_object_foreach((json_t *)v, kk, x) collect(x, kk, k, depth + 1);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) collect(x, key, k, depth + 1);
    } else if (json_is_string(v) && key) {
        const char *s = json_string_value(v);
        if (strcmp(key, "services") == 0)
            set_add(&k->services, s);
        else if (strcmp(key, "span_id") == 0)
            set_add(&k->spans, s);
        else if (key_in(key, id_keys) && (strncmp(s, "span:", 5) == 0 || strncmp(s, "log:", 4) == 0)) {
            set_add(&k->ids, s);
            if (strncmp(s, "span:", 5) == 0) set_add(&k->spans, s + 5);
        }
    }
}

static void known_init(known_t *k, const json_t *evidence)
{
    memset(k, 0, sizeof(*k));
    collect(evidence, NULL, k, 0);
    qsort(k->services.v, k->services.n, sizeof(char *), cmp_str);
    qsort(k->spans.v, k->spans.n, sizeof(char *), cmp_str);
    qsort(k->ids.v, k->ids.n, sizeof(char *), cmp_str);
}

static void known_dispose(known_t *k)
{
    free(k->services.v);
    free(k->spans.v);
    free(k->ids.v);
}

/* ---------------- shape ---------------- */

static int fail(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (whylen) vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -1;
}

/* The JSON text inside optional ``` fences (```json ... ```), trimmed. */
static void unfence(const char **p, size_t *n)
{
    const char *s = *p, *e = *p + *n;
    while (s < e && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\r' || e[-1] == '\t'))
        e--;
    if (e - s >= 6 && memcmp(s, "```", 3) == 0 && memcmp(e - 3, "```", 3) == 0) {
        const char *nl = memchr(s, '\n', (size_t)(e - s));
        if (nl && nl < e - 3) {
            s = nl + 1;
            e -= 3;
        }
    }
    *p = s;
    *n = (size_t)(e - s);
}

/* A string field of at most max bytes (or null when nullable). Returns 0, or -1 with why. */
static int check_string(const json_t *o, const char *key, const char *path, size_t max, int nullable,
                        char *why, size_t whylen)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL) return fail(why, whylen, "missing field %s", path);
    if (json_is_null(v) && nullable) return 0;
    if (!json_is_string(v)) return fail(why, whylen, "%s is not a string", path);
    if (json_string_length(v) > max) return fail(why, whylen, "%s is longer than %zu bytes", path, max);
    return 0;
}

static int check_string_array(const json_t *o, const char *key, size_t max_items, size_t max_len, char *why,
                              size_t whylen)
{
    const json_t *a = json_object_get(o, key), *x;
    size_t i;
    if (a == NULL) return fail(why, whylen, "missing field %s", key);
    if (!json_is_array(a)) return fail(why, whylen, "%s is not an array", key);
    if (json_array_size(a) > max_items)
        return fail(why, whylen, "%s has more than %zu entries", key, max_items);
    json_array_foreach(a, i, x)
    {
        if (!json_is_string(x)) return fail(why, whylen, "%s[%zu] is not a string", key, i);
        if (json_string_length(x) > max_len) return fail(why, whylen, "%s[%zu] is too long", key, i);
    }
    return 0;
}

static int check_shape(const json_t *a, char *why, size_t whylen)
{
    if (!json_is_object(a)) return fail(why, whylen, "the answer is not a JSON object");
    if (check_string(a, "summary", "summary", MAX_TEXT, 0, why, whylen) ||
        check_string(a, "impact", "impact", MAX_TEXT, 0, why, whylen))
        return -1;
    if (json_string_length(json_object_get(a, "summary")) == 0) return fail(why, whylen, "summary is empty");
    const json_t *rc = json_object_get(a, "root_cause");
    if (rc == NULL) return fail(why, whylen, "missing field root_cause");
    if (!json_is_object(rc)) return fail(why, whylen, "root_cause is not an object");
    if (check_string(rc, "service", "root_cause.service", MAX_NAME, 1, why, whylen) ||
        check_string(rc, "span_id", "root_cause.span_id", MAX_ID_LEN, 1, why, whylen) ||
        check_string(rc, "operation", "root_cause.operation", MAX_NAME, 1, why, whylen) ||
        check_string(rc, "exception", "root_cause.exception", MAX_NAME, 1, why, whylen))
        return -1;
    if (check_string_array(a, "evidence", MAX_IDS, MAX_ID_LEN, why, whylen) ||
        check_string_array(a, "remediation", MAX_REMEDIATION, MAX_REMEDIATION_LEN, why, whylen))
        return -1;
    const json_t *c = json_object_get(a, "confidence");
    if (c == NULL) return fail(why, whylen, "missing field confidence");
    if (!json_is_number(c)) return fail(why, whylen, "confidence is not a number");
    double cv = json_number_value(c);
    if (!isfinite(cv) || cv < 0 || cv > 1) return fail(why, whylen, "confidence is not in [0,1]");
    const char *v = json_string_value(json_object_get(a, "verdict"));
    if (v == NULL) return fail(why, whylen, "verdict is missing or not a string");
    if (strcmp(v, "conclusive") != 0 && strcmp(v, "inconclusive") != 0)
        return fail(why, whylen, "verdict is neither conclusive nor inconclusive");
    return 0;
}

/* ---------------- citations ---------------- */

/* "span:<id>" or "<id>" -> "<id>" */
static const char *bare_span(const char *s)
{
    return strncmp(s, "span:", 5) == 0 ? s + 5 : s;
}

static int check_citations(const json_t *a, const json_t *evidence, const known_t *k, char *why,
                           size_t whylen)
{
    const json_t *rc = json_object_get(a, "root_cause"), *x;
    const char *svc = json_string_value(json_object_get(rc, "service"));
    const char *span = json_string_value(json_object_get(rc, "span_id"));
    if (svc && *svc && !set_has(&k->services, svc))
        return fail(why, whylen, "invented: service %.*s not in evidence", SHOW, svc);
    if (span && *span && !set_has(&k->spans, bare_span(span)))
        return fail(why, whylen, "invented: span %.*s not in evidence", SHOW, span);
    size_t i;
    json_array_foreach(json_object_get(a, "evidence"), i, x)
    {
        const char *id = json_string_value(x);
        int ok = set_has(&k->ids, id) ||
                 (strncmp(id, "span:", 5) != 0 && strncmp(id, "log:", 4) != 0 && set_has(&k->spans, id));
        if (!ok) return fail(why, whylen, "invented: evidence id %.*s not in evidence", SHOW, id);
    }
    const json_t *er = json_object_get(evidence, "root_cause");
    const char *verdict = json_string_value(json_object_get(a, "verdict"));
    if (json_is_object(er)) {
        const char *es = an_str(json_string_value(json_object_get(er, "service")));
        const char *ep = an_str(json_string_value(json_object_get(er, "span_id")));
        if (svc == NULL || span == NULL || strcmp(svc, es) != 0 || strcmp(bare_span(span), ep) != 0)
            return fail(why, whylen,
                        "root cause disagrees with the evidence: answer names %.*s/%.*s, evidence %.*s/%.*s",
                        SHOW, svc ? svc : "null", SHOW, span ? span : "null", SHOW, es, SHOW, ep);
    } else if (strcmp(verdict, "conclusive") == 0 && (svc == NULL || *svc == '\0')) {
        return fail(why, whylen, "conclusive verdict without a root-cause service");
    }
    return 0;
}

/* ---------------- the accepted report ---------------- */

static json_t *copy_or_null(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string(json_string_value(v)) : json_null();
}

static json_t *accepted(const json_t *a, const known_t *k)
{
    const json_t *rc = json_object_get(a, "root_cause"), *x;
    json_t *r = json_object(), *root = json_object(), *ids = json_array();
    const char *span = json_string_value(json_object_get(rc, "span_id"));
    json_object_set_new(root, "service", copy_or_null(rc, "service"));
    json_object_set_new(root, "span_id", span ? json_string(bare_span(span)) : json_null());
    json_object_set_new(root, "operation", copy_or_null(rc, "operation"));
    json_object_set_new(root, "exception", copy_or_null(rc, "exception"));
    size_t i;
    json_array_foreach(json_object_get(a, "evidence"), i, x)
    {
        const char *id = json_string_value(x);
        char buf[MAX_ID_LEN + 8];
        if (!set_has(&k->ids, id)) { /* a bare span id */
            snprintf(buf, sizeof(buf), "span:%s", id);
            id = buf;
        }
        int dup = 0;
        size_t j;
        json_t *y;
        json_array_foreach(ids, j, y) dup |= strcmp(json_string_value(y), id) == 0;
        if (!dup) json_array_append_new(ids, json_string(id));
    }
    json_object_set_new(r, "summary", copy_or_null(a, "summary"));
    json_object_set_new(r, "root_cause", root);
    json_object_set_new(r, "impact", copy_or_null(a, "impact"));
    json_object_set_new(r, "evidence", ids);
    json_object_set_new(r, "remediation", json_deep_copy(json_object_get(a, "remediation")));
    json_object_set_new(r, "confidence", json_real(json_number_value(json_object_get(a, "confidence"))));
    json_object_set_new(r, "verdict", copy_or_null(a, "verdict"));
    json_object_set_new(r, "generated_by", json_string("llm"));
    return r;
}

int analysis_llm_check(const char *content, size_t len, const json_t *evidence, json_t **report, char *why,
                       size_t whylen)
{
    *report = NULL;
    if (content == NULL || len == 0) return fail(why, whylen, "empty answer");
    if (len > ANALYSIS_ANSWER_MAX)
        return fail(why, whylen, "answer larger than %d bytes", ANALYSIS_ANSWER_MAX);
    const char *p = content;
    size_t n = len;
    unfence(&p, &n);
    json_error_t err;
    json_t *a = json_loadb(p, n, JSON_REJECT_DUPLICATES, &err);
    if (a == NULL) return fail(why, whylen, "not JSON: %.120s", err.text);
    int rc = check_shape(a, why, whylen);
    if (rc == 0) {
        known_t k;
        known_init(&k, evidence);
        rc = check_citations(a, evidence, &k, why, whylen);
        if (rc == 0) *report = accepted(a, &k);
        known_dispose(&k);
    }
    json_decref(a);
    return rc;
}

int analysis_llm_content(const char *body, size_t len, char **content, char *why, size_t whylen)
{
    *content = NULL;
    if (body == NULL || len > MAX_BODY) return fail(why, whylen, "response body missing or too large");
    json_error_t err;
    json_t *r = json_loadb(body, len, 0, &err);
    if (r == NULL) return fail(why, whylen, "response is not JSON: %.120s", err.text);
    json_t *msg = json_object_get(json_array_get(json_object_get(r, "choices"), 0), "message");
    json_t *c = json_object_get(msg, "content");
    const char *refusal = json_string_value(json_object_get(msg, "refusal"));
    int rc = -1;
    if (msg == NULL)
        fail(why, whylen, "response has no choices[0].message");
    else if (refusal && !json_is_string(c))
        fail(why, whylen, "the model refused: %.200s", refusal);
    else if (!json_is_string(c))
        fail(why, whylen, "choices[0].message.content is not a string");
    else {
        *content = xstrndup(json_string_value(c), json_string_length(c));
        rc = 0;
    }
    json_decref(r);
    return rc;
}
