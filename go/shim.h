/* shim.h - the C side of the Go binding (see shim.c). */
#ifndef MBA_GO_SHIM_H
#define MBA_GO_SHIM_H
#include <stddef.h>
#include <stdint.h>
#include "mba.h"
int go_open(const char *name, uint32_t flags, int32_t t, mba_handle *out, char *msg, size_t msglen);
int go_create(const char *name, uint32_t flags, uint32_t mode, int32_t t, uint32_t ndim, const uint64_t *shape, uint64_t capacity, uint64_t max_len, int anon, mba_handle *out, char *msg, size_t msglen);
int go_describe(mba_handle h, mba_info *out, char *msg, size_t msglen);
int go_len(mba_handle h, uint64_t *out, char *msg, size_t msglen);
int go_capacity(mba_handle h, uint64_t *out, char *msg, size_t msglen);
int go_seq(mba_handle h, uint64_t *out, char *msg, size_t msglen);
int go_wait(mba_handle h, uint64_t seen, int64_t ns, uint64_t *out, char *msg, size_t msglen);
int go_extend(mba_handle h, uint64_t n, const void *src, char *msg, size_t msglen);
int go_reserve(mba_handle h, uint64_t n, char *msg, size_t msglen);
int go_truncate(mba_handle h, uint64_t n, char *msg, size_t msglen);
int go_flush(mba_handle h, int mode, char *msg, size_t msglen);
int go_close(mba_handle h, char *msg, size_t msglen);
int go_unlink(const char *name, char *msg, size_t msglen);
#endif
