/* libFuzzer target: the unary gRPC message reader over any bytes split anywhere; the message never
 * grows past the cap and a successful read holds exactly the declared length. */
#include "grpc_frame.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    size_t max_len = data[0] * 16u, step = data[1] % 16 + 1;
    data += 2;
    size -= 2;
    grpc_frame_reader_t r;
    grpc_frame_reader_init(&r, max_len);
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += step)
        rc = grpc_frame_feed(&r, data + off, size - off < step ? size - off : step);
    if (rc == 0) rc = grpc_frame_end(&r);
    if (grpc_frame_reserved(&r) > max_len || r.have > r.len) abort();
    if (rc == 0 && (r.have != r.len || !r.complete || (r.len > 0 && r.msg == NULL))) abort();
    if (rc != 0 && r.err == GRPC_FRAME_ERR_NONE) abort();
    if (rc == 0 && r.len > 0) {
        volatile uint8_t sink = r.msg[0] ^ r.msg[r.len - 1]; /* every byte was written (ASan/MSan) */
        (void)sink;
    }
    grpc_frame_reader_dispose(&r);
    return 0;
}
