#ifndef MOSHI_MK_POOL_H
#define MOSHI_MK_POOL_H
#include <stdint.h>

/// A persistent pool of worker threads for data-parallel kernels. `mk_pool_run` hands out task
/// indices 0..<n_tasks through an atomic counter; the calling thread works too. Workers spin
/// briefly after a job, then sleep on a futex, so a call allocates nothing and takes no lock.
typedef struct mk_pool mk_pool;

/// One task: `task` in 0..<n_tasks, `thread` in 0..<threads (0 = the calling thread).
typedef void (*mk_task_fn)(void *ctx, int64_t task, int thread);

/// Creates a pool of `threads` threads in all (the caller counts as one; `threads - 1` workers).
/// Returns NULL if a thread cannot be created.
mk_pool *mk_pool_create(int threads);
/// Stops and joins the workers. The pool must be idle (no mk_pool_run in progress).
void mk_pool_destroy(mk_pool *pool);
int mk_pool_threads(const mk_pool *pool);
/// Runs fn(ctx, task, thread) for every task and returns when all are done. Meant for one
/// dispatching thread per pool; a call from inside a task (of any pool), or from a second thread while the
/// pool is busy, runs its tasks serially on the calling thread (thread index 0) instead.
void mk_pool_run(mk_pool *pool, mk_task_fn fn, void *ctx, int64_t n_tasks);
#endif
