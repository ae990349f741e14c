/* Free text written by an untrusted author (the LLM, or telemetry quoted by it) made safe to show on
 * the dashboard and to send in alerts. Pure; any thread. Redaction of secrets is redact.h's job: these
 * functions remove what could act on a reader (links, mentions, markup), not what could leak. */
#ifndef PS_SAFETEXT_H
#define PS_SAFETEXT_H

#include <stddef.h>

/* A copy of `in` (NULL: "") with links replaced by "[link removed]" (scheme://..., www....,
 * javascript:...), angle-bracket constructs removed whole (HTML tags, Slack's <!channel>, <@U123>,
 * <#C1|x>, <url|label>), the '@' of mentions dropped (@here, @channel, @bob: an '@' that does not follow
 * a letter or digit), the markup characters ` * ~ removed, control characters other than newline and
 * tab removed, and the result cut to at most `max_bytes` bytes (at least 4) on a UTF-8 character
 * boundary, ending with "…" when cut. Caller frees; never NULL. */
char *safetext_clean(const char *in, size_t max_bytes);

/* `in` (NULL: "") escaped for a Slack message text: & < > become &amp; &lt; &gt; (so no <!channel>,
 * <@U...> or <url|label> survives), and the '@' of @here, @channel and @everyone is dropped. Caller
 * frees; never NULL. */
char *safetext_slack_escape(const char *in);

#endif
