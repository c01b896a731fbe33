// A counting allocator to preload (LD_PRELOAD) under `moshi profile`: every malloc, calloc,
// realloc and aligned allocation bumps a per-thread counter, then goes to glibc's own
// allocator. The frame loop finds `moshi_alloc_count_thread` with dlsym and reports the
// allocations its capture, compute and playback threads made per steady-state frame
// (Docs/LATENCY.md, "Allocations"). Build: cc -O2 -shared -fPIC -o libmoshi_alloc_count.so moshi_alloc_count.c
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static __thread uint64_t thread_count __attribute__((tls_model("initial-exec")));
static uint64_t process_count;
#define COUNT() (thread_count++, __atomic_fetch_add(&process_count, 1, __ATOMIC_RELAXED))

void *malloc(size_t size) { COUNT(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { COUNT(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { COUNT(); return __libc_realloc(pointer, size); }
void *memalign(size_t alignment, size_t size) { COUNT(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { COUNT(); return __libc_memalign(alignment, size); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    COUNT();
    void *pointer = __libc_memalign(alignment, size);
    if (!pointer) return ENOMEM;
    *out = pointer;
    return 0;
}
void free(void *pointer) { __libc_free(pointer); }

/// Allocations made so far by the calling thread.
uint64_t moshi_alloc_count_thread(void) { return thread_count; }

/// Allocations made so far by every thread of the process (for work spread over a thread
/// pool's workers).
uint64_t moshi_alloc_count_process(void) { return __atomic_load_n(&process_count, __ATOMIC_RELAXED); }
