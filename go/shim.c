/* shim.c - wrappers that call one libmba function and, on failure, copy
 * the calling thread's detailed message (mba_last_error) into msg in the
 * same cgo call. */
#include "shim.h"

/* Every call that can fail goes through one of these wrappers: it calls
   libmba and, on failure, copies the calling thread's detailed message
   into msg in the same cgo call. A goroutine may run on another OS thread
   after a cgo call returns, so the thread-local mba_last_error must never
   be read by a later call. */
#define MBA_GO_CALL(expr) do { int rc_ = (expr); \
	if (rc_ != MBA_OK) mba_last_error(msg, msglen); return rc_; } while (0)

int go_open(const char *name, uint32_t flags, int32_t t, mba_handle *out,
                   char *msg, size_t msglen)
{ MBA_GO_CALL(mba_open(name, flags, t, out)); }

int go_create(const char *name, uint32_t flags, uint32_t mode, int32_t t,
                     uint32_t ndim, const uint64_t *shape, uint64_t capacity,
                     uint64_t max_len, int anon, mba_handle *out,
                     char *msg, size_t msglen)
{
	mba_options o;
	mba_options_init(&o);
	o.flags = flags;
	o.mode = mode;
	o.elem_type = t;
	o.ndim = ndim;
	for (uint32_t i = 0; i < ndim && i < MBA_MAX_ROW_DIMS; i++)
		o.shape[i] = shape[i];
	o.capacity = capacity;
	o.max_len = max_len;
	if (anon)
		MBA_GO_CALL(mba_anon_ex(&o, out));
	MBA_GO_CALL(mba_open_ex(name, &o, out));
}

int go_describe(mba_handle h, mba_info *out, char *msg, size_t msglen)
{
	out->struct_size = sizeof(mba_info);
	MBA_GO_CALL(mba_describe(h, out));
}

int go_len(mba_handle h, uint64_t *out, char *msg, size_t msglen)
{ MBA_GO_CALL(mba_len(h, out)); }

int go_capacity(mba_handle h, uint64_t *out, char *msg, size_t msglen)
{ MBA_GO_CALL(mba_capacity(h, out)); }

int go_seq(mba_handle h, uint64_t *out, char *msg, size_t msglen)
{ MBA_GO_CALL(mba_seq(h, out)); }

int go_wait(mba_handle h, uint64_t seen, int64_t ns, uint64_t *out,
                   char *msg, size_t msglen)
{ MBA_GO_CALL(mba_wait(h, seen, ns, out)); }

int go_extend(mba_handle h, uint64_t n, const void *src, char *msg, size_t msglen)
{ MBA_GO_CALL(mba_extend(h, n, src)); }

int go_reserve(mba_handle h, uint64_t n, char *msg, size_t msglen)
{ MBA_GO_CALL(mba_reserve(h, n)); }

int go_truncate(mba_handle h, uint64_t n, char *msg, size_t msglen)
{ MBA_GO_CALL(mba_truncate(h, n)); }

int go_flush(mba_handle h, int mode, char *msg, size_t msglen)
{ MBA_GO_CALL(mba_flush(h, mode)); }

int go_close(mba_handle h, char *msg, size_t msglen)
{ MBA_GO_CALL(mba_close(h)); }

int go_unlink(const char *name, char *msg, size_t msglen)
{ MBA_GO_CALL(mba_unlink(name)); }
