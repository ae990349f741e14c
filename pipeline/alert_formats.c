/* Destination formats of alerts (see alert_formats.h). */
#include "alert_formats.h"
#include "alerts.h"
#include "alloc.h"
#include "redact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PD_CLIENT "ProdSentinel"
#define PD_SOURCE_DEFAULT "prodsentinel"
#define AM_ALERTNAME_INCIDENT "ProdSentinelIncident"
#define AM_ALERTNAME_DEGRADATION "ProdSentinelDegradation"
#define TEAMS_CARD_VERSION "1.4"

static const char *str(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

int alert_format_takes(alert_dest_type_t t, const char *kind)
{
    if (t != ALERT_DEST_PAGERDUTY && t != ALERT_DEST_ALERTMANAGER) return 1;
    return strcmp(kind, "incident") == 0 || strcmp(kind, "degradation") == 0 || strcmp(kind, "resolved") == 0;
}

alert_severity_t alert_payload_severity(const json_t *payload)
{
    alert_severity_t s;
    return alert_severity_parse(str(payload, "severity"), &s) == 0 ? s : ALERT_SEV_ERROR;
}

int alert_format_absolute_links(json_t *payload, const char *public_url)
{
    const char *link = str(payload, "link");
    if (link == NULL) return -1;
    if (public_url == NULL || *public_url == '\0' || link[0] != '/') return 0;
    size_t base = strlen(public_url);
    while (base > 0 && public_url[base - 1] == '/')
        base--;
    char *old = xstrdup(link);
    json_t *abs = json_sprintf("%.*s%s", (int)base, public_url, old);
    const char *text = str(payload, "text");
    const char *at = NULL;
    for (const char *p = text; p && (p = strstr(p, old)) != NULL; p++)
        at = p; /* the last quote of the link: the payloads end their text with it */
    if (at && abs) {
        json_t *t =
            json_sprintf("%.*s%s%s", (int)(at - text), text, json_string_value(abs), at + strlen(old));
        if (t) json_object_set_new(payload, "text", t);
    }
    if (abs) json_object_set_new(payload, "link", abs);
    free(old);
    return 0;
}

void alert_format_pd_dedup_key(long long incident_id, char *out, size_t outlen)
{
    snprintf(out, outlen, "prodsentinel-incident-%lld", incident_id);
}

/* The length of the longest prefix of `s` of at most `max` bytes ending on a UTF-8 character boundary. */
static size_t utf8_prefix(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max) return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

static int is_absolute(const char *link)
{
    return link && (strncmp(link, "http://", 7) == 0 || strncmp(link, "https://", 8) == 0);
}

/* The payload's text without the link it ends with (PagerDuty's summary, Teams' text: the link is a
 * field or a button there). A new reference. */
static json_t *text_without_link(const json_t *p)
{
    const char *text = str(p, "text"), *link = str(p, "link");
    if (text == NULL) text = str(p, "title") ? str(p, "title") : "";
    size_t n = strlen(text), l = link ? strlen(link) : 0;
    if (l && n > l && strcmp(text + n - l, link) == 0 && text[n - l - 1] == ' ') n -= l + 1;
    return json_stringn(text, n);
}

/* ---- PagerDuty Events API v2 ---- */

static json_t *pd_body(const json_t *p, const char *kind, const char *routing_key)
{
    char dedup[64];
    alert_format_pd_dedup_key(json_integer_value(json_object_get(p, "incident_id")), dedup, sizeof(dedup));
    if (strcmp(kind, "resolved") == 0)
        return json_pack("{s:s,s:s,s:s}", "routing_key", routing_key, "event_action", "resolve", "dedup_key",
                         dedup);
    const char *service = str(p, "service"), *endpoint = str(p, "endpoint"), *link = str(p, "link");
    json_t *full = text_without_link(p);
    const char *t = json_string_value(full);
    json_t *summary = json_stringn(t, utf8_prefix(t, ALERT_PD_SUMMARY_MAX));
    json_decref(full);
    json_t *details =
        json_pack("{s:O?,s:s,s:s?,s:s?,s:s?,s:s?,s:s}", "incident_id", json_object_get(p, "incident_id"),
                  "kind", kind, "title", str(p, "title"), "service", service, "endpoint", endpoint, "link",
                  link, "severity", alert_severity_name(alert_payload_severity(p)));
    json_t *payload =
        json_pack("{s:o,s:s,s:s,s:s?,s:s?,s:s,s:o}", "summary", summary, "source",
                  service ? service : PD_SOURCE_DEFAULT, "severity",
                  alert_severity_name(alert_payload_severity(p)), "component", endpoint ? endpoint : service,
                  "group", service, "class", kind, "custom_details", details);
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:o}", "routing_key", routing_key, "event_action", "trigger",
                             "dedup_key", dedup, "client", PD_CLIENT, "payload", payload);
    /* PagerDuty wants absolute URLs: without PUBLIC_URL the link stays in custom_details only */
    if (body && is_absolute(link)) {
        json_object_set_new(body, "client_url", json_string(link));
        json_t *label = json_sprintf(PD_CLIENT " incident #%lld",
                                     (long long)json_integer_value(json_object_get(p, "incident_id")));
        json_object_set_new(body, "links", json_pack("[{s:s,s:o}]", "href", link, "text", label));
    }
    return body;
}

/* ---- Alertmanager v2 ---- */

/* One alert of `trigger` (a plain incident or degradation payload): its labels depend on the trigger
 * only, so the resolve sent later carries the same set and Alertmanager closes that alert. */
static json_t *am_alert(const json_t *trigger, const char *starts_at, const char *ends_at)
{
    const char *kind = str(trigger, "kind"), *link = str(trigger, "link");
    json_t *labels =
        json_pack("{s:s,s:s,s:s?,s:s?}", "alertname",
                  kind && strcmp(kind, "degradation") == 0 ? AM_ALERTNAME_DEGRADATION : AM_ALERTNAME_INCIDENT,
                  "severity", alert_severity_name(alert_payload_severity(trigger)), "service",
                  str(trigger, "service"), "endpoint", str(trigger, "endpoint"));
    if (labels == NULL) return NULL;
    json_object_set_new(
        labels, "incident_id",
        json_sprintf("%lld", (long long)json_integer_value(json_object_get(trigger, "incident_id"))));
    json_t *ann = json_pack("{s:s?,s:s?,s:s?}", "summary", str(trigger, "title"), "description",
                            str(trigger, "text"), "link", link);
    json_t *a = json_pack("{s:o,s:o,s:s?}", "labels", labels, "annotations", ann, "startsAt", starts_at);
    if (a && is_absolute(link)) json_object_set_new(a, "generatorURL", json_string(link));
    if (a && ends_at) json_object_set_new(a, "endsAt", json_string(ends_at));
    return a;
}

/* The alerts of `triggers_json` (see alert_format_in_t), ending at `ends_at` (NULL: firing). NULL when
 * there is none. */
static json_t *am_triggers(const char *triggers_json, const char *ends_at)
{
    json_t *arr = json_array();
    json_t *triggers = triggers_json ? json_loads(triggers_json, 0, NULL) : NULL;
    size_t i;
    json_t *t;
    json_array_foreach(triggers, i, t)
    {
        json_t *tp = redact_json(json_object_get(t, "payload"));
        json_t *a = am_alert(tp, str(t, "queued_at"), ends_at);
        if (a) json_array_append_new(arr, a);
        json_decref(tp);
    }
    json_decref(triggers);
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

static json_t *am_body(const json_t *p, const char *kind, const alert_format_in_t *in)
{
    if (strcmp(kind, "resolved") == 0) return am_triggers(in->triggers_json, in->queued_at);
    json_t *arr = json_array();
    json_array_append_new(arr, am_alert(p, in->queued_at, NULL));
    return arr;
}

char *alert_format_am_firing(const char *triggers_json, char *err, size_t errlen)
{
    json_t *arr = am_triggers(triggers_json, NULL);
    char *out = arr ? json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (out == NULL) snprintf(err, errlen, "no page to send again");
    json_decref(arr);
    return out;
}

/* ---- Microsoft Teams: an Adaptive Card in a message, as incoming webhooks and Workflows take ---- */

char *alert_format_teams_escape(const char *in)
{
    if (in == NULL) in = "";
    size_t n = strlen(in);
    char *out = xmalloc(2 * n + 1), *w = out;
    for (const char *p = in; *p; p++) {
        if (strchr("\\`*_{}[]()#<>~|", *p)) *w++ = '\\';
        *w++ = *p;
    }
    *w = '\0';
    return out;
}

static json_t *escaped(const char *s)
{
    char *e = alert_format_teams_escape(s);
    json_t *j = json_string(e);
    free(e);
    return j;
}

static json_t *teams_body(const json_t *p, const char *kind)
{
    alert_severity_t sev = alert_payload_severity(p);
    const char *color = strcmp(kind, "resolved") == 0 ? "Good"
                        : sev >= ALERT_SEV_ERROR      ? "Attention"
                        : sev == ALERT_SEV_WARNING    ? "Warning"
                                                      : "Default";
    json_t *text = text_without_link(p);
    json_t *facts = json_array();
    const char *fact_keys[][2] = {{"Service", "service"}, {"Endpoint", "endpoint"}};
    for (int i = 0; i < 2; i++)
        if (str(p, fact_keys[i][1]))
            json_array_append_new(facts, json_pack("{s:s,s:o}", "title", fact_keys[i][0], "value",
                                                   escaped(str(p, fact_keys[i][1]))));
    json_array_append_new(facts,
                          json_pack("{s:s,s:s}", "title", "Severity", "value", alert_severity_name(sev)));
    json_t *card_body =
        json_pack("[{s:s,s:o,s:s,s:s,s:s,s:b},{s:s,s:o,s:b},{s:s,s:o}]", "type", "TextBlock", "text",
                  escaped(str(p, "title") ? str(p, "title") : kind), "weight", "Bolder", "size", "Medium",
                  "color", color, "wrap", 1, "type", "TextBlock", "text", escaped(json_string_value(text)),
                  "wrap", 1, "type", "FactSet", "facts", facts);
    json_decref(text);
    json_t *card =
        json_pack("{s:s,s:s,s:s,s:o}", "$schema", "http://adaptivecards.io/schemas/adaptive-card.json",
                  "type", "AdaptiveCard", "version", TEAMS_CARD_VERSION, "body", card_body);
    const char *link = str(p, "link");
    if (card && is_absolute(link))
        json_object_set_new(
            card, "actions",
            json_pack("[{s:s,s:s,s:s}]", "type", "Action.OpenUrl", "title", "Open incident", "url", link));
    return json_pack("{s:s,s:[{s:s,s:n,s:o}]}", "type", "message", "attachments", "contentType",
                     "application/vnd.microsoft.card.adaptive", "contentUrl", "content", card);
}

/* ---- dispatch ---- */

char *alert_format_body(const alert_format_in_t *in, char *err, size_t errlen)
{
    if (in->type == ALERT_DEST_SLACK) {
        char *b = alerts_slack_body(in->payload_json);
        if (b == NULL) snprintf(err, errlen, "payload has no text for Slack");
        return b;
    }
    json_t *stored = json_loads(in->payload_json, 0, NULL);
    json_t *p = stored ? redact_json(stored) : NULL; /* redacted again, like the Slack text */
    json_decref(stored);
    const char *kind = str(p, "kind");
    if (!json_is_object(p) || kind == NULL) {
        snprintf(err, errlen, "payload is not an alert (no kind)");
        json_decref(p);
        return NULL;
    }
    json_t *body = NULL;
    if (!alert_format_takes(in->type, kind))
        snprintf(err, errlen, "%s takes no %s alert", alert_dest_type_name(in->type), kind);
    else {
        switch (in->type) {
        case ALERT_DEST_PAGERDUTY:
            body = pd_body(p, kind, in->routing_key ? in->routing_key : "");
            break;
        case ALERT_DEST_ALERTMANAGER:
            body = am_body(p, kind, in);
            break;
        case ALERT_DEST_TEAMS:
            body = teams_body(p, kind);
            break;
        case ALERT_DEST_JSON:
        case ALERT_DEST_SLACK:
            body = json_incref(p);
            break;
        }
        if (body == NULL)
            snprintf(err, errlen, "nothing to send (%s %s: no trigger to close, or not UTF-8)",
                     alert_dest_type_name(in->type), kind);
    }
    char *out = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(body);
    json_decref(p);
    return out;
}
