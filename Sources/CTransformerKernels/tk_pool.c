// The engine thread pool. One run hands out indices from a single atomic ticket (generation << 32 | next index),
// so a thread that is descheduled holds up only the index it took; idle workers spin briefly, then sleep on a
// condition variable. Callers are serialised by a mutex; a run started from inside a task of the same pool runs
// inline, so nesting cannot deadlock.
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "tk_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TK_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define TK_PAUSE() __asm__ __volatile__("yield")
#else
#define TK_PAUSE() ((void)0)
#endif

/// How long an idle worker spins before it sleeps (by default); how long a caller waiting for the last indices
/// spins, then yields its core (to a worker that may need it), before it naps between checks.
#define TK_WORKER_SPIN_NS 200000
#define TK_CALLER_SPIN_NS 50000
#define TK_CALLER_YIELD_NS 2000000
#define TK_CLOSED 0xFFFFFFFFu

struct tk_pool {
    int threads;
    int started;
    int stopped;
    int64_t spinNanoseconds;
    pthread_t *workers;
    pthread_mutex_t runLock;
    pthread_mutex_t sleepLock;
    pthread_cond_t wake;
    _Atomic uint64_t ticket;
    _Atomic uint32_t generation;
    _Atomic(tk_task) task;
    _Atomic(void *) context;
    _Atomic int64_t count;
    _Atomic int64_t offset;
    _Atomic int64_t done;
    _Atomic int sleepers;
    _Atomic int stopping;
};

/// The pool whose task the current thread is running (workers: always their pool).
static _Thread_local tk_pool *currentPool;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/// Takes and runs indices of generation `gen` until none are left. The ticket is closed before a new run's fields
/// are written, so a thread that read the fields of another generation can never claim an index with them.
static void run_indices(tk_pool *pool, uint32_t gen) {
    tk_task task = atomic_load(&pool->task);
    void *context = atomic_load(&pool->context);
    int64_t count = atomic_load(&pool->count);
    int64_t offset = atomic_load(&pool->offset);
    uint64_t t = atomic_load(&pool->ticket);
    for (;;) {
        if ((uint32_t)(t >> 32) != gen || (int64_t)(t & 0xFFFFFFFFu) >= count) return;
        if (atomic_compare_exchange_weak(&pool->ticket, &t, t + 1)) {
            task(context, offset + (int64_t)(t & 0xFFFFFFFFu));
            atomic_fetch_add(&pool->done, 1);
            t = atomic_load(&pool->ticket);
        }
    }
}

static void *worker_main(void *argument) {
    tk_pool *pool = (tk_pool *)argument;
    currentPool = pool;
    uint32_t seen = atomic_load(&pool->generation);
    for (;;) {
        uint32_t gen = atomic_load(&pool->generation);
        if (gen == seen && pool->spinNanoseconds > 0) {
            int64_t start = now_ns();
            for (int spins = 0; gen == seen; spins++) {
                TK_PAUSE();
                gen = atomic_load(&pool->generation);
                if ((spins & 31) == 31 && now_ns() - start > pool->spinNanoseconds) break;
            }
        }
        if (gen == seen) {
            pthread_mutex_lock(&pool->sleepLock);
            atomic_fetch_add(&pool->sleepers, 1);
            while ((gen = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->stopping)) {
                pthread_cond_wait(&pool->wake, &pool->sleepLock);
            }
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->sleepLock);
        }
        if (atomic_load(&pool->stopping)) break;
        seen = gen;
        run_indices(pool, gen);
    }
    return NULL;
}

tk_pool *tk_pool_create(int threads) {
    return tk_pool_create_spinning(threads, TK_WORKER_SPIN_NS);
}

tk_pool *tk_pool_create_spinning(int threads, int64_t spinNanoseconds) {
    tk_pool *pool = calloc(1, sizeof(tk_pool));
    if (pool == NULL) return NULL;
    pool->threads = threads < 1 ? 1 : threads;
    pool->spinNanoseconds = spinNanoseconds < 0 ? 0 : spinNanoseconds;
    pthread_mutex_init(&pool->runLock, NULL);
    pthread_mutex_init(&pool->sleepLock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    atomic_store(&pool->ticket, (uint64_t)TK_CLOSED);
    if (pool->threads > 1) {
        pool->workers = calloc((size_t)(pool->threads - 1), sizeof(pthread_t));
        if (pool->workers == NULL) {
            free(pool);
            return NULL;
        }
        for (int i = 0; i < pool->threads - 1; i++) {
            if (pthread_create(&pool->workers[i], NULL, worker_main, pool) != 0) break;
            pool->started++;
        }
    }
    return pool;
}

int tk_pool_threads(const tk_pool *pool) {
    return pool->started + 1;  // the workers that did start, and the caller
}

static void run_inline(int64_t count, tk_task task, void *context) {
    for (int64_t i = 0; i < count; i++) task(context, i);
}

/// Waits for the indices other threads took: spin, then yield (a worker may be waiting for this core), then nap.
static void wait_done(tk_pool *pool, int64_t count) {
    int64_t start = 0;
    for (int spins = 0; atomic_load(&pool->done) < count; spins++) {
        if (spins < 64) {
            TK_PAUSE();
            continue;
        }
        if (start == 0) start = now_ns();
        int64_t waited = now_ns() - start;
        if (waited < TK_CALLER_SPIN_NS) {
            TK_PAUSE();
        } else if (waited < TK_CALLER_YIELD_NS) {
            sched_yield();
        } else {
            struct timespec nap = {0, 20000};
            nanosleep(&nap, NULL);
        }
    }
}

void tk_pool_run(tk_pool *pool, int64_t count, tk_task task, void *context) {
    if (count <= 0) return;
    if (currentPool == pool || pool->started == 0 || count == 1) {
        run_inline(count, task, context);
        return;
    }
    pthread_mutex_lock(&pool->runLock);
    if (pool->stopped) {
        pthread_mutex_unlock(&pool->runLock);
        run_inline(count, task, context);
        return;
    }
    tk_pool *outer = currentPool;
    currentPool = pool;
    for (int64_t offset = 0; offset < count;) {
        // A generation hands out at most 2^32 - 2 indices; longer runs go in slices.
        int64_t slice = count - offset < (int64_t)TK_CLOSED - 1 ? count - offset : (int64_t)TK_CLOSED - 1;
        uint32_t gen = atomic_load(&pool->generation) + 1;
        atomic_store(&pool->ticket, ((uint64_t)gen << 32) | TK_CLOSED);
        atomic_store(&pool->task, task);
        atomic_store(&pool->context, context);
        atomic_store(&pool->count, slice);
        atomic_store(&pool->offset, offset);
        atomic_store(&pool->done, 0);
        atomic_store(&pool->ticket, (uint64_t)gen << 32);
        atomic_store(&pool->generation, gen);
        if (atomic_load(&pool->sleepers) > 0) {
            pthread_mutex_lock(&pool->sleepLock);
            pthread_cond_broadcast(&pool->wake);
            pthread_mutex_unlock(&pool->sleepLock);
        }
        run_indices(pool, gen);
        wait_done(pool, slice);
        offset += slice;
    }
    currentPool = outer;
    pthread_mutex_unlock(&pool->runLock);
}

void tk_pool_shutdown(tk_pool *pool) {
    pthread_mutex_lock(&pool->runLock);
    if (!pool->stopped) {
        pool->stopped = 1;
        pthread_mutex_lock(&pool->sleepLock);
        atomic_store(&pool->stopping, 1);
        atomic_fetch_add(&pool->generation, 1);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->sleepLock);
        for (int i = 0; i < pool->started; i++) pthread_join(pool->workers[i], NULL);
    }
    pthread_mutex_unlock(&pool->runLock);
}

void tk_pool_destroy(tk_pool *pool) {
    if (pool == NULL) return;
    tk_pool_shutdown(pool);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->sleepLock);
    pthread_mutex_destroy(&pool->runLock);
    free(pool->workers);
    free(pool);
}
