/* Protobuf wire-format pre-walk (see otlp_wire.h). Wire format: each field is a varint key
 * (field number << 3 | wire type) then, by wire type: 0 varint, 1 eight bytes, 2 varint length then
 * that many bytes (strings, bytes, messages, packed repeated scalars), 5 four bytes; 3 and 4 are
 * proto2 groups, which OTLP never uses. */
#include "otlp_wire.h"

#include <stdio.h>
#include <string.h>

enum { WT_VARINT = 0, WT_64 = 1, WT_LEN = 2, WT_START_GROUP = 3, WT_END_GROUP = 4, WT_32 = 5 };

/* Bytes per element of a scalar repeated field in protobuf-c's arrays. */
static size_t elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4;
    }
}

static int wire_type_of(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return WT_64;
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return WT_32;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return WT_LEN;
    default:
        return WT_VARINT;
    }
}

static size_t rounded(size_t n)
{
    return (n + OTLP_WIRE_ALIGN - 1) / OTLP_WIRE_ALIGN * OTLP_WIRE_ALIGN + OTLP_WIRE_ALIGN;
}

/* Reads a varint at p[*i] (< len); 0, or -1 when truncated or longer than 10 bytes. */
static int varint(const uint8_t *p, size_t len, size_t *i, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (*i >= len) return -1;
        uint8_t b = p[(*i)++];
        x |= (uint64_t)(b & 0x7F) << (shift < 64 ? shift : 63);
        if ((b & 0x80) == 0) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* The path of the field being walked, kept as frames and spelled out only when a field is bad (spelling
 * it for every field cost a quarter of the walk). */
typedef struct {
    const char *name; /* the field's proto name (snake_case) */
    long index;       /* element of a repeated message field, or -1 */
} frame_t;

typedef struct {
    otlp_wire_t *w;
    const uint8_t *base; /* start of the whole request, for offsets */
    frame_t frames[OTLP_WIRE_MAX_DEPTH + 2];
    size_t nframes;
} walk_t;

/* Appends ".<camelCase name>[index]" for each frame to w->path. */
static void spell_path(const walk_t *k)
{
    char *out = k->w->path;
    size_t cap = sizeof(k->w->path), n = 0;
    out[0] = '\0';
    for (size_t f = 0; f < k->nframes && n + 1 < cap; f++) {
        if (n > 0) out[n++] = '.';
        size_t start = n;
        for (const char *c = k->frames[f].name; *c && n + 1 < cap; c++) {
            if (*c == '_' && c[1] != '\0' && n > start) {
                c++;
                out[n++] = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
            } else if (*c != '_') {
                out[n++] = *c;
            }
        }
        out[n] = '\0';
        if (k->frames[f].index >= 0 && n < cap) {
            int w = snprintf(out + n, cap - n, "[%ld]", k->frames[f].index);
            n = w > 0 && (size_t)w < cap - n ? n + (size_t)w : cap - 1;
        }
    }
}

static int fail(walk_t *k, const uint8_t *at, const char *why)
{
    k->w->offset = (size_t)(at - k->base);
    spell_path(k);
    k->w->why = why;
    return -1;
}

/* Enters a field (index < 0: not an element of a repeated message); returns the depth to go back to. */
static size_t path_push(walk_t *k, const char *name, long index)
{
    size_t old = k->nframes;
    if (k->nframes < sizeof(k->frames) / sizeof(*k->frames)) k->frames[k->nframes++] = (frame_t){name, index};
    return old;
}

static void path_pop(walk_t *k, size_t old)
{
    k->nframes = old;
}

/* Counts the elements of a packed run of scalars of type t; -1 when it does not divide evenly. */
static long packed_count(ProtobufCType t, const uint8_t *p, size_t n)
{
    int wt = wire_type_of(t);
    if (wt == WT_64) return n % 8 ? -1 : (long)(n / 8);
    if (wt == WT_32) return n % 4 ? -1 : (long)(n / 4);
    long count = 0;
    for (size_t i = 0; i < n; i++)
        if ((p[i] & 0x80) == 0) count++;
    return n > 0 && (p[n - 1] & 0x80) ? -1 : count;
}

static int walk(walk_t *k, const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len, int depth);

/* One known field's value (the key is already read; value at p[*i]). */
static int known_field(walk_t *k, const ProtobufCFieldDescriptor *f, int wt, unsigned occurrence,
                       const uint8_t *p, size_t len, size_t *i, int depth)
{
    int repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
    size_t old =
        path_push(k, f->name, repeated && f->type == PROTOBUF_C_TYPE_MESSAGE ? (long)occurrence : -1);
    const uint8_t *at = p + *i;
    int rc = 0;
    if (wt == WT_LEN) {
        uint64_t n;
        if (varint(p, len, i, &n) != 0 || n > len - *i) {
            rc = fail(k, at, "truncated");
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (repeated) k->w->need += rounded(sizeof(void *)); /* array grows per element: bounded */
            rc = walk(k, f->descriptor, p + *i, (size_t)n, depth + 1);
        } else if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES) {
            k->w->need += rounded((size_t)n + 1) + (repeated ? rounded(elem_size(f->type)) : 0);
        } else if (repeated) {
            long count = packed_count(f->type, p + *i, (size_t)n);
            if (count < 0)
                rc = fail(k, at, "packed repeated field of the wrong length");
            else
                k->w->need += rounded((size_t)count * elem_size(f->type));
        } else {
            rc = fail(k, at, "length-delimited value for a scalar field");
        }
        *i += (size_t)n;
    } else if (wt != wire_type_of(f->type)) {
        rc = fail(k, at, "wrong wire type for the field");
    } else {
        uint64_t v;
        size_t width = wt == WT_64 ? 8 : wt == WT_32 ? 4 : 0;
        if (width ? len - *i < width : varint(p, len, i, &v) != 0)
            rc = fail(k, at, "truncated");
        else
            *i += width;
        if (repeated) k->w->need += rounded(elem_size(f->type));
    }
    if (rc == 0) path_pop(k, old);
    return rc;
}

/* Skips an unknown field's value; protobuf-c keeps a copy of it. */
static int unknown_field(walk_t *k, int wt, const uint8_t *p, size_t len, size_t *i, size_t key_len)
{
    const uint8_t *at = p + *i;
    uint64_t n = 0;
    switch (wt) {
    case WT_VARINT:
        if (varint(p, len, i, &n) != 0) return fail(k, at, "truncated");
        n = 0;
        break;
    case WT_64:
        n = 8;
        break;
    case WT_32:
        n = 4;
        break;
    case WT_LEN:
        if (varint(p, len, i, &n) != 0) return fail(k, at, "truncated");
        break;
    default:
        return fail(k, at, "groups (wire types 3 and 4) are not supported");
    }
    if (n > len - *i) return fail(k, at, "truncated");
    *i += (size_t)n;
    k->w->need += rounded(sizeof(ProtobufCMessageUnknownField)) + rounded((size_t)(p + *i - at) + key_len);
    return 0;
}

/* Occurrences seen of the first fields, to name repeated elements by index. */
#define COUNTED_FIELDS 32

static int walk(walk_t *k, const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len, int depth)
{
    if (depth > OTLP_WIRE_MAX_DEPTH) return fail(k, p, "nested deeper than the accepted depth");
    unsigned seen[COUNTED_FIELDS] = {0};
    k->w->need += rounded(d->sizeof_message);
    size_t i = 0;
    while (i < len) {
        const uint8_t *at = p + i;
        uint64_t key;
        if (varint(p, len, &i, &key) != 0) return fail(k, at, "truncated field key");
        int wt = (int)(key & 7);
        uint64_t id = key >> 3;
        if (id == 0 || id > 536870911u) return fail(k, at, "invalid field number");
        if (wt == WT_START_GROUP || wt == WT_END_GROUP || wt > WT_32)
            return fail(k, at,
                        wt > WT_32 ? "invalid wire type" : "groups (wire types 3 and 4) are not supported");
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)id);
        int rc;
        if (f == NULL) {
            rc = unknown_field(k, wt, p, len, &i, (size_t)(p + i - at));
        } else {
            size_t idx = (size_t)(f - d->fields);
            unsigned occurrence = idx < COUNTED_FIELDS ? seen[idx]++ : 0;
            rc = known_field(k, f, wt, occurrence, p, len, &i, depth);
        }
        if (rc != 0) return rc;
    }
    return 0;
}

int otlp_wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len, otlp_wire_t *w)
{
    walk_t k = {.w = w, .base = p, .nframes = 0};
    memset(w, 0, sizeof(*w));
    return walk(&k, d, p, len, 0);
}
