// The persistent thread pool (see mk_pool.h).
#define _GNU_SOURCE
#include "mk_pool.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <limits.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MK_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define MK_PAUSE() __asm__ __volatile__("yield")
#else
#define MK_PAUSE() ((void)0)
#endif

#include <sched.h>
#include <time.h>

/// How long an idle worker spins before it sleeps, and how long the dispatcher spins waiting for
/// the last worker before it starts yielding the CPU (a worker may have been preempted).
enum { MK_SPIN_NANOSECONDS = 200000, MK_WAIT_SPINS_BEFORE_YIELD = 4096 };
#define MK_JOB_CLOSED ((uint64_t)1 << 31)

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct mk_pool {
    int threads;
    pthread_t *workers;
    _Alignas(64) _Atomic uint32_t generation;   // bumped once per job (futex word)
    _Alignas(64) _Atomic int64_t next_task;
    // Who takes part in the current job: (job number << 32) | MK_JOB_CLOSED | workers joined.
    // A worker joins an open job with a CAS; the dispatcher closes it once it has run out of
    // tasks and waits only for the workers that joined, so a worker the OS has not scheduled
    // (another process on its core) costs nothing instead of a scheduler slice per job.
    _Alignas(64) _Atomic uint64_t entry;
    _Alignas(64) _Atomic int32_t left;          // joined workers that have finished the job
    _Atomic int stop;
    _Atomic int32_t sleepers;                   // workers inside futex_wait (or about to be)
    _Atomic int dispatching;                    // a thread is inside mk_pool_run
    mk_task_fn fn;
    void *ctx;
    int64_t n_tasks;
};

/// A worker's start-up argument. `seen` is the generation at creation, so a job dispatched before
/// the thread first runs is not missed.
typedef struct { mk_pool *pool; int index; uint32_t seen; } mk_worker_arg;

static void futex_wait(_Atomic uint32_t *addr, uint32_t expected) {
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *addr) {
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void run_tasks(mk_pool *pool, int thread) {
    const int64_t n = pool->n_tasks;
    for (;;) {
        int64_t task = atomic_fetch_add_explicit(&pool->next_task, 1, memory_order_relaxed);
        if (task >= n) break;
        pool->fn(pool->ctx, task, thread);
    }
}

/// Set on worker threads, and on a dispatching thread while its job runs: a pool call from
/// inside a task then runs serially instead of corrupting the job in flight.
static _Thread_local int inside_pool_task;

static void *worker_main(void *raw) {
    inside_pool_task = 1;
    mk_worker_arg arg = *(mk_worker_arg *)raw;
    free(raw);
    mk_pool *pool = arg.pool;
    uint32_t seen = arg.seen;
    for (;;) {
        // Wait for a new job: spin a while (jobs come back to back within a model step), then sleep.
        uint32_t now;
        int spins = 0;
        int64_t spin_until = 0;
        while ((now = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen) {
            if (atomic_load_explicit(&pool->stop, memory_order_acquire)) return NULL;
            MK_PAUSE();
            if ((++spins & 63) != 0) continue;
            int64_t t = now_ns();
            if (spin_until == 0) spin_until = t + MK_SPIN_NANOSECONDS;
            if (t < spin_until) continue;
            atomic_fetch_add(&pool->sleepers, 1);
            futex_wait(&pool->generation, seen);   // returns at once if the generation moved
            atomic_fetch_sub(&pool->sleepers, 1);
            spin_until = 0;
        }
        seen = now;
        if (atomic_load_explicit(&pool->stop, memory_order_acquire)) return NULL;
        uint64_t e = atomic_load_explicit(&pool->entry, memory_order_acquire);
        while (!(e & MK_JOB_CLOSED)) {
            if (atomic_compare_exchange_weak_explicit(&pool->entry, &e, e + 1, memory_order_acq_rel, memory_order_acquire)) {
                run_tasks(pool, arg.index);
                atomic_fetch_add_explicit(&pool->left, 1, memory_order_release);
                break;
            }
        }
    }
}

mk_pool *mk_pool_create(int threads) {
    if (threads < 1) threads = 1;
    mk_pool *pool = calloc(1, sizeof(mk_pool));
    if (!pool) return NULL;
    pool->threads = threads;
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->next_task, 0);
    atomic_init(&pool->entry, MK_JOB_CLOSED);
    atomic_init(&pool->left, 0);
    atomic_init(&pool->stop, 0);
    atomic_init(&pool->sleepers, 0);
    atomic_init(&pool->dispatching, 0);
    if (threads > 1) {
        pool->workers = calloc((size_t)threads - 1, sizeof(pthread_t));
        if (!pool->workers) { free(pool); return NULL; }
        for (int i = 1; i < threads; i++) {
            mk_worker_arg *arg = malloc(sizeof(mk_worker_arg));
            if (!arg) { pool->threads = i; mk_pool_destroy(pool); return NULL; }
            arg->pool = pool;
            arg->index = i;
            arg->seen = 0;
            if (pthread_create(&pool->workers[i - 1], NULL, worker_main, arg) != 0) {
                free(arg);
                pool->threads = i;
                mk_pool_destroy(pool);
                return NULL;
            }
        }
    }
    return pool;
}

void mk_pool_destroy(mk_pool *pool) {
    if (!pool) return;
    atomic_store_explicit(&pool->stop, 1, memory_order_release);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_acq_rel);
    futex_wake_all(&pool->generation);
    for (int i = 1; i < pool->threads; i++) pthread_join(pool->workers[i - 1], NULL);
    free(pool->workers);
    free(pool);
}

int mk_pool_threads(const mk_pool *pool) { return pool ? pool->threads : 1; }

static void run_serially(mk_task_fn fn, void *ctx, int64_t n_tasks) {
    for (int64_t t = 0; t < n_tasks; t++) fn(ctx, t, 0);
}

void mk_pool_run(mk_pool *pool, mk_task_fn fn, void *ctx, int64_t n_tasks) {
    if (n_tasks <= 0) return;
    if (!pool || pool->threads == 1 || n_tasks == 1 || inside_pool_task) {
        run_serially(fn, ctx, n_tasks);
        return;
    }
    // One dispatcher at a time; a second thread arriving meanwhile does its job itself.
    if (atomic_exchange_explicit(&pool->dispatching, 1, memory_order_acquire)) {
        run_serially(fn, ctx, n_tasks);
        return;
    }
    inside_pool_task = 1;
    pool->fn = fn;
    pool->ctx = ctx;
    pool->n_tasks = n_tasks;
    atomic_store_explicit(&pool->next_task, 0, memory_order_relaxed);
    atomic_store_explicit(&pool->left, 0, memory_order_relaxed);
    uint32_t job = atomic_load_explicit(&pool->generation, memory_order_relaxed) + 1;
    atomic_store_explicit(&pool->entry, (uint64_t)job << 32, memory_order_release);   // open
    atomic_fetch_add(&pool->generation, 1);
    if (atomic_load(&pool->sleepers) > 0) futex_wake_all(&pool->generation);
    run_tasks(pool, 0);
    // No task left to hand out: close the job and wait for the workers that joined it.
    int32_t joined = (int32_t)(atomic_fetch_or_explicit(&pool->entry, MK_JOB_CLOSED, memory_order_acq_rel) & (MK_JOB_CLOSED - 1));
    int spins = 0;
    while (atomic_load_explicit(&pool->left, memory_order_acquire) < joined) {
        if (++spins < MK_WAIT_SPINS_BEFORE_YIELD) MK_PAUSE();
        else sched_yield();
    }
    inside_pool_task = 0;
    atomic_store_explicit(&pool->dispatching, 0, memory_order_release);
}
