/* Log templates, mined drain-like: a line's first line is masked (numbers, hex ids, UUIDs, quoted
 * values become <*>), split into tokens, and grouped by (service, error or not, token count, first
 * token); inside a group a line joins the most similar template when at least half of the tokens
 * agree, and the positions that differ become <*>. Both windows are mined together, in a canonical
 * order (service, error class, masked text), so the same records always give the same templates. */
#include "rank_int.h"

#include "alloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The wildcard; template tokens that are wildcards point at this one object, so a pointer compare
 * tells them apart from literal text. */
static const char WILD[] = "<*>";

typedef struct {
    uint32_t svc;
    int err; /* its lines are error/warn lines (the group's class: every line of a template shares it) */
    int ntok;
    const char **tok; /* arena strings, or WILD itself */
    char *text;
} cluster_t;

typedef struct {
    uint32_t *ids; /* cluster ids, creation order */
    size_t n, cap;
} group_t;

struct rk_miner {
    rk_arena_t *arena;
    rk_intern_t group_keys; /* strings in the arena */
    rk_vec_t groups;        /* group_t */
    rk_vec_t clusters;      /* cluster_t */
};

rk_miner_t *rk_miner_create(void)
{
    rk_miner_t *m = xcalloc(1, sizeof(*m));
    m->arena = rk_arena_create();
    rk_intern_init(&m->group_keys);
    rk_vec_init(&m->groups, sizeof(group_t));
    rk_vec_init(&m->clusters, sizeof(cluster_t));
    return m;
}

void rk_miner_free(rk_miner_t *m)
{
    if (m == NULL) return;
    for (size_t i = 0; i < m->groups.len; i++)
        free(RK_AT(&m->groups, group_t, i).ids);
    rk_vec_dispose(&m->groups);
    rk_vec_dispose(&m->clusters);
    rk_intern_dispose(&m->group_keys);
    rk_arena_free(m->arena);
    free(m);
}

size_t rk_miner_count(const rk_miner_t *m)
{
    return m->clusters.len;
}

int rk_miner_is_error(const rk_miner_t *m, uint32_t tmpl)
{
    return tmpl < m->clusters.len && RK_AT(&m->clusters, cluster_t, tmpl).err;
}

const char *rk_miner_text(const rk_miner_t *m, uint32_t tmpl)
{
    if (tmpl >= m->clusters.len) return "";
    return RK_AT(&m->clusters, cluster_t, tmpl).text;
}

/* ---- Masking ---- */

static int is_delim(unsigned char c)
{
    return strchr(",;:=()[]{}<>\"'|", c) != NULL && c != '\0';
}

/* Whether run s[0..n) is a variable: a number (digits with . - + / _ and at most a 3-letter unit), a
 * hex id of 8+ hex digits (dashes allowed: UUIDs), or 0x-prefixed hex. */
static int is_variable(const char *s, size_t n)
{
    if (n == 0) return 0;
    size_t digits = 0, hex = 0, other = 0, letters_tail = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isdigit(c)) {
            digits++;
            hex++;
            letters_tail = 0;
        } else if (isxdigit(c)) {
            hex++;
            letters_tail++;
        } else if (c == '.' || c == '-' || c == '+' || c == '/' || c == '_') {
            letters_tail = 0;
        } else if (isalpha(c)) {
            other++;
            letters_tail++;
        } else {
            return 0;
        }
    }
    if (digits == 0) return 0;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return 1;
    if (other == 0 && hex == digits) return 1; /* plain number, date, version */
    if (other == 0 && hex >= 8) return 1;      /* hex id, UUID */
    if (letters_tail == other + (hex - digits) && letters_tail <= 3 && isdigit((unsigned char)s[0]))
        return 1; /* number with a unit: 250ms, 4kB */
    return 0;
}

static int quote_opens(const char *s, size_t i)
{
    if (i == 0) return 1;
    return strchr(" =:([,", s[i - 1]) != NULL;
}

static int quote_closes(const char *s, size_t i, size_t n)
{
    return i + 1 >= n || strchr(" ,)];.:", s[i + 1]) != NULL;
}

void rk_mask_line(const char *msg, char *out, size_t outlen)
{
    size_t n = 0;
    while (msg[n] && msg[n] != '\n' && msg[n] != '\r' && n < RK_MSG_MAX)
        n++;
    size_t o = 0;
#define PUT(c)                                                                                               \
    do {                                                                                                     \
        if (o + 1 < outlen) out[o++] = (c);                                                                  \
    } while (0)
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)msg[i];
        if ((c == '"' || c == '\'') && quote_opens(msg, i)) {
            size_t j = i + 1;
            while (j < n && !(msg[j] == (char)c && quote_closes(msg, j, n)))
                j++;
            if (j < n) {
                for (const char *w = WILD; *w; w++)
                    PUT(*w);
                i = j + 1;
                continue;
            }
        }
        if (isspace(c) || is_delim(c)) {
            PUT(isspace(c) ? ' ' : (char)c);
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && !isspace((unsigned char)msg[j]) && !is_delim((unsigned char)msg[j]))
            j++;
        if (is_variable(msg + i, j - i)) {
            for (const char *w = WILD; *w; w++)
                PUT(*w);
        } else {
            for (size_t k = i; k < j; k++)
                PUT(msg[k]);
        }
        i = j;
    }
#undef PUT
    out[o < outlen ? o : outlen - 1] = '\0';
}

/* ---- Mining ---- */

typedef struct {
    rk_log_t *log;
    const char *svc_name;
    int err;
    char *masked;
} ref_t;

static int cmp_ref(const void *a, const void *b)
{
    const ref_t *x = a, *y = b;
    int c = strcmp(x->svc_name, y->svc_name);
    if (c) return c;
    if (x->err != y->err) return x->err - y->err;
    return strcmp(x->masked, y->masked);
}

static int tokenize(char *s, const char **tok)
{
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(s, " ", &save); t && n < RK_MAX_TOKENS; t = strtok_r(NULL, " ", &save))
        tok[n++] = t;
    return n;
}

static double similarity(const cluster_t *c, const char **tok, int n)
{
    int same = 0;
    for (int i = 0; i < n; i++)
        if (c->tok[i] != WILD && strcmp(c->tok[i], tok[i]) == 0) same++;
    return n ? (double)same / n : 1.0;
}

static group_t *group_of(rk_miner_t *m, uint32_t svc, int err, int ntok, const char *first)
{
    char *key = rk_arena_printf(m->arena, "%u\x1f%d\x1f%d\x1f%s", svc, err, ntok, first ? first : "");
    uint32_t before = m->group_keys.n;
    uint32_t g = rk_intern(&m->group_keys, key, strlen(key));
    if (g == before) rk_vec_push(&m->groups);
    return &RK_AT(&m->groups, group_t, g);
}

static uint32_t new_cluster(rk_miner_t *m, group_t *g, uint32_t svc, int err, const char **tok, int n)
{
    uint32_t id = (uint32_t)m->clusters.len;
    cluster_t *c = rk_vec_push(&m->clusters);
    c->svc = svc;
    c->err = err;
    c->ntok = n;
    c->tok = rk_arena_alloc(m->arena, (size_t)(n ? n : 1) * sizeof(char *));
    for (int i = 0; i < n; i++)
        c->tok[i] = strcmp(tok[i], WILD) == 0 ? WILD : rk_arena_strdup(m->arena, tok[i]);
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 4;
        g->ids = xrealloc(g->ids, g->cap * sizeof(uint32_t));
    }
    g->ids[g->n++] = id;
    return id;
}

/* The template of one masked line (modified in place by tokenising). */
static uint32_t assign(rk_miner_t *m, uint32_t svc, int err, char *masked)
{
    const char *tok[RK_MAX_TOKENS];
    int n = tokenize(masked, tok);
    group_t *g = group_of(m, svc, err, n, n ? tok[0] : "");
    uint32_t best = RK_NONE;
    double best_sim = -1;
    for (size_t i = 0; i < g->n; i++) {
        double s = similarity(&RK_AT(&m->clusters, cluster_t, g->ids[i]), tok, n);
        if (s > best_sim) {
            best_sim = s;
            best = g->ids[i];
        }
    }
    int full = g->n >= RK_MAX_CLUSTERS_PER_GROUP || m->clusters.len >= RK_MAX_TEMPLATES;
    if (best == RK_NONE || (best_sim < RK_DRAIN_SIM && !full)) return new_cluster(m, g, svc, err, tok, n);
    cluster_t *c = &RK_AT(&m->clusters, cluster_t, best);
    for (int i = 0; i < n; i++)
        if (c->tok[i] != WILD && strcmp(c->tok[i], tok[i]) != 0) c->tok[i] = WILD;
    return best;
}

static void finish_texts(rk_miner_t *m)
{
    for (size_t i = 0; i < m->clusters.len; i++) {
        cluster_t *c = &RK_AT(&m->clusters, cluster_t, i);
        size_t len = 1;
        for (int k = 0; k < c->ntok; k++)
            len += strlen(c->tok[k]) + 1;
        c->text = rk_arena_alloc(m->arena, len);
        char *p = c->text;
        for (int k = 0; k < c->ntok; k++) {
            size_t l = strlen(c->tok[k]);
            if (k) *p++ = ' ';
            memcpy(p, c->tok[k], l);
            p += l;
        }
        *p = '\0';
    }
}

void rk_miner_run(rk_miner_t *m, rk_run_t *run)
{
    size_t n = run->base.n_logs + run->target.n_logs;
    ref_t *refs = xcalloc(n ? n : 1, sizeof(ref_t));
    char *buf = xmalloc(RK_MSG_MAX + 64);
    size_t k = 0;
    rk_window_t *ws[2] = {&run->base, &run->target};
    for (int w = 0; w < 2; w++) {
        for (size_t i = 0; i < ws[w]->n_logs; i++) {
            rk_log_t *l = &ws[w]->logs[i];
            rk_mask_line(l->msg, buf, RK_MSG_MAX + 64);
            refs[k++] =
                (ref_t){l, rk_svc_name(run, l->svc), l->severity >= 4, rk_arena_strdup(m->arena, buf)};
        }
    }
    qsort(refs, n, sizeof(ref_t), cmp_ref);
    uint32_t prev = RK_NONE;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && cmp_ref(&refs[i - 1], &refs[i]) == 0) {
            refs[i].log->tmpl = prev; /* the same masked line joins the same template */
            continue;
        }
        strcpy(buf, refs[i].masked);
        prev = assign(m, refs[i].log->svc, refs[i].err, buf);
        refs[i].log->tmpl = prev;
    }
    finish_texts(m);
    free(buf);
    free(refs);
}
