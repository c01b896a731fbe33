// A counting allocator to preload (LD_PRELOAD) under `moshi profile`: every malloc, calloc,
// realloc and aligned allocation bumps a per-thread counter, then goes to glibc's own
// allocator. The frame loop finds `moshi_alloc_count_thread` with dlsym and reports the
// allocations its capture, compute and playback threads made per steady-state frame
// (Docs/LATENCY.md, "Allocations"). Build: cc -O2 -shared -fPIC -o libmoshi_alloc_count.so moshi_alloc_count.c
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static __thread uint64_t thread_count __attribute__((tls_model("initial-exec")));
static uint64_t process_count;

// Every thread's count, readable from other threads (for threads one cannot instrument, such
// as a thread pool's workers): a thread takes a slot, with its kernel thread id, at its first
// allocation and keeps it. Counts in the table are what `thread_count` counts, kept by the owner.
#define MOSHI_ALLOC_SLOTS 1024
static _Atomic uint64_t slot_counts[MOSHI_ALLOC_SLOTS];
static _Atomic int32_t slot_tids[MOSHI_ALLOC_SLOTS];
static _Atomic int32_t slots_used;
static __thread int32_t thread_slot __attribute__((tls_model("initial-exec"))) = -1;

static inline void count_one(void) {
    thread_count++;
    __atomic_fetch_add(&process_count, 1, __ATOMIC_RELAXED);
    if (__builtin_expect(thread_slot < 0, 0)) {
        int32_t slot = __atomic_fetch_add(&slots_used, 1, __ATOMIC_RELAXED);
        thread_slot = slot < MOSHI_ALLOC_SLOTS ? slot : MOSHI_ALLOC_SLOTS;
        if (slot < MOSHI_ALLOC_SLOTS) __atomic_store_n(&slot_tids[slot], (int32_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
    }
    if (thread_slot < MOSHI_ALLOC_SLOTS) __atomic_store_n(&slot_counts[thread_slot], thread_count, __ATOMIC_RELAXED);
}

void *malloc(size_t size) { count_one(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { count_one(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { count_one(); return __libc_realloc(pointer, size); }
void *memalign(size_t alignment, size_t size) { count_one(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { count_one(); return __libc_memalign(alignment, size); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    count_one();
    void *pointer = __libc_memalign(alignment, size);
    if (!pointer) return ENOMEM;
    *out = pointer;
    return 0;
}
void free(void *pointer) { __libc_free(pointer); }

/// Allocations made so far by the calling thread.
uint64_t moshi_alloc_count_thread(void) { return thread_count; }

/// The threads that have allocated so far: fills up to `capacity` kernel thread ids and their
/// allocation counts, returns how many threads there are.
int32_t moshi_alloc_count_threads(int32_t *tids, uint64_t *counts, int32_t capacity) {
    int32_t used = __atomic_load_n(&slots_used, __ATOMIC_ACQUIRE);
    if (used > MOSHI_ALLOC_SLOTS) used = MOSHI_ALLOC_SLOTS;
    for (int32_t i = 0; i < used && i < capacity; i++) {
        tids[i] = __atomic_load_n(&slot_tids[i], __ATOMIC_ACQUIRE);
        counts[i] = __atomic_load_n(&slot_counts[i], __ATOMIC_RELAXED);
    }
    return used;
}

/// Allocations made so far by every thread of the process (for work spread over a thread
/// pool's workers).
uint64_t moshi_alloc_count_process(void) { return __atomic_load_n(&process_count, __ATOMIC_RELAXED); }
