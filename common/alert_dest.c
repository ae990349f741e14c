/* ALERT_WEBHOOKS entries (see alert_dest.h). */
#include "alert_dest.h"
#include "url_origin.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

/* A PagerDuty routing (integration) key: 32 characters today; some room, no URL by mistake. */
#define ROUTING_KEY_MIN 8
#define ROUTING_KEY_MAX 64

static const char *const type_names[] = {"json", "slack", "teams", "pagerduty", "alertmanager"};
static const char *const severity_names[] = {"info", "warning", "error", "critical"};

const char *alert_dest_type_name(alert_dest_type_t t)
{
    return type_names[t];
}

const char *alert_severity_name(alert_severity_t s)
{
    return severity_names[s];
}

int alert_severity_parse(const char *s, alert_severity_t *out)
{
    for (int i = 0; s && i < (int)(sizeof(severity_names) / sizeof(*severity_names)); i++)
        if (strcmp(s, severity_names[i]) == 0) {
            *out = (alert_severity_t)i;
            return 0;
        }
    return -1;
}

/* Splits "type:" off `entry`; a bare URL (or one whose scheme is not a type) is json. */
static alert_dest_type_t take_type(char **entry)
{
    for (int i = 0; i < (int)(sizeof(type_names) / sizeof(*type_names)); i++) {
        size_t n = strlen(type_names[i]);
        if (strncmp(*entry, type_names[i], n) == 0 && (*entry)[n] == ':') {
            *entry += n + 1;
            return (alert_dest_type_t)i;
        }
    }
    return ALERT_DEST_JSON;
}

/* Takes the trailing ";name=value" options off `entry`, from the right: a ';' followed by a lowercase
 * name and '=' is an option (an unknown name is refused, so a misspelt "min_severty" is not silently
 * part of the URL); any other ';' belongs to the URL. Returns 0, or -1 with `err`. */
static int take_options(char *entry, alert_dest_t *d, char *name, size_t namelen, int pos, char *err,
                        size_t errlen)
{
    for (char *semi; (semi = strrchr(entry, ';')) != NULL;) {
        const char *opt = semi + 1;
        if (strncmp(opt, "min_severity=", 13) == 0) {
            if (alert_severity_parse(opt + 13, &d->min_severity) != 0) {
                snprintf(err, errlen, "entry %d: min_severity must be critical, error, warning or info", pos);
                return -1;
            }
        } else if (strncmp(opt, "name=", 5) == 0) {
            size_t n = strlen(opt + 5);
            if (n == 0 || n >= namelen ||
                strspn(opt + 5, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789_.:#-") != n) {
                snprintf(err, errlen, "entry %d: name must be 1 to %zu of [A-Za-z0-9_.:#-]", pos,
                         namelen - 1);
                return -1;
            }
            snprintf(name, namelen, "%s", opt + 5);
        } else if (strchr(opt, '=') &&
                   strspn(opt, "abcdefghijklmnopqrstuvwxyz_") == (size_t)(strchr(opt, '=') - opt)) {
            snprintf(err, errlen, "entry %d: unknown option \"%.*s\" (options are min_severity, name)", pos,
                     (int)(strchr(opt, '=') - opt), opt);
            return -1;
        } else {
            break; /* part of the URL */
        }
        *semi = '\0';
    }
    return 0;
}

/* The first 4 hex digits of SHA-256(target). */
static void short_hash(const char *target, char out[5])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)target, strlen(target), md);
    snprintf(out, 5, "%02x%02x", md[0], md[1]);
}

static int url_target_ok(const char *t)
{
    char origin[URL_ORIGIN_MAX];
    return (strncmp(t, "http://", 7) == 0 || strncmp(t, "https://", 8) == 0) &&
           url_origin(t, origin, sizeof(origin))[0] != '(';
}

static int routing_key_ok(const char *t)
{
    size_t n = strlen(t);
    return n >= ROUTING_KEY_MIN && n <= ROUTING_KEY_MAX &&
           strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

/* One entry (modified in place) into `d`. */
static int parse_entry(char *entry, int pos, alert_dest_t *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof(*d));
    d->min_severity = ALERT_SEV_INFO;
    d->type = take_type(&entry);
    char name[ALERT_DEST_ID_MAX] = "";
    if (take_options(entry, d, name, sizeof(name), pos, err, errlen) != 0) return -1;
    if (strlen(entry) >= sizeof(d->target)) {
        snprintf(err, errlen, "entry %d: longer than %zu characters", pos, sizeof(d->target) - 1);
        return -1;
    }
    if (d->type == ALERT_DEST_PAGERDUTY ? !routing_key_ok(entry) : !url_target_ok(entry)) {
        /* the target is not repeated: it is a secret */
        snprintf(err, errlen,
                 d->type == ALERT_DEST_PAGERDUTY
                     ? "entry %d: pagerduty: needs the routing key (%d to %d of [A-Za-z0-9_-])"
                     : "entry %d: not an http(s) URL (entries are [type:]URL[;min_severity=...][;name=...])",
                 pos, ROUTING_KEY_MIN, ROUTING_KEY_MAX);
        return -1;
    }
    snprintf(d->target, sizeof(d->target), "%s", entry);
    char h[5];
    short_hash(d->target, h);
    if (name[0])
        snprintf(d->id, sizeof(d->id), "%s", name);
    else if (d->type == ALERT_DEST_PAGERDUTY)
        snprintf(d->id, sizeof(d->id), "pagerduty#%s", h);
    else {
        char origin[URL_ORIGIN_MAX];
        const char *host = strstr(url_origin(d->target, origin, sizeof(origin)), "://") + 3;
        snprintf(d->id, sizeof(d->id), "%s:%.*s#%s", alert_dest_type_name(d->type),
                 (int)(sizeof(d->id) - strlen(alert_dest_type_name(d->type)) - 7), host, h);
    }
    return 0;
}

int alert_dest_parse(const char *value, alert_dest_t *out, int *n, char *err, size_t errlen)
{
    *n = 0;
    char copy[ALERT_DEST_MAX * (ALERT_DEST_TARGET_MAX + 64)];
    if (strlen(value) >= sizeof(copy)) {
        snprintf(err, errlen, "longer than %zu characters", sizeof(copy) - 1);
        return -1;
    }
    snprintf(copy, sizeof(copy), "%s", value);
    int pos = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        pos++;
        if (*n == ALERT_DEST_MAX) {
            snprintf(err, errlen, "more than %d destinations", ALERT_DEST_MAX);
            return -1;
        }
        if (parse_entry(tok, pos, &out[*n], err, errlen) != 0) return -1;
        for (int i = 0; i < *n; i++)
            if (strcmp(out[i].id, out[*n].id) == 0) {
                snprintf(err, errlen, "entries %d and %d have the same id %s (give one a ;name=)", i + 1, pos,
                         out[i].id);
                return -1;
            }
        (*n)++;
    }
    return 0;
}
