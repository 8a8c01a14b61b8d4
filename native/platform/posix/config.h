/* Build-time configuration of the POSIX platform. */
#ifndef OCRE_POSIX_CONFIG_H
#define OCRE_POSIX_CONFIG_H

/* Where a context lives when ocre_create_context(NULL) is called. */
#ifndef CONFIG_OCRE_DEFAULT_WORKING_DIRECTORY
#define CONFIG_OCRE_DEFAULT_WORKING_DIRECTORY "/var/lib/ocre"
#endif

/* Stack of each container thread. WAMR's interpreter needs native stack for
 * deep guest recursion; it detects overflow (a trap) before the guard page. */
#ifndef CONFIG_OCRE_CONTAINER_STACK_SIZE
#define CONFIG_OCRE_CONTAINER_STACK_SIZE (256 * 1024)
#endif

/* Niceness added to each container thread (setpriority on the thread's own
 * id, Linux) relative to the thread that created it, unless the context or
 * the container says otherwise (ocre_context_set_container_nice(),
 * ocre_container_set_nice()). 0: containers compete for the CPU on equal
 * terms with the process's other threads and with other processes, which is
 * what a CPU-bound container needs on a loaded host; higher values let the
 * event loop and other processes win (see docs/platform.md). Raising a
 * thread's niceness needs no privilege. */
#ifndef CONFIG_OCRE_CONTAINER_NICE
#define CONFIG_OCRE_CONTAINER_NICE 0
#endif

/* 1: container threads run under SCHED_IDLE (Linux; no privilege needed):
 * they get the CPU only when no normal thread wants it, so a woken event
 * loop preempts a busy container at once. Where that fails, the niceness
 * above applies. */
#ifndef CONFIG_OCRE_CONTAINER_SCHED_IDLE
#define CONFIG_OCRE_CONTAINER_SCHED_IDLE 0
#endif

/* 1: container threads start each job under SCHED_BATCH (Linux; no
 * privilege needed): the same CPU share as SCHED_OTHER at the same niceness,
 * but a container thread woken for a run never preempts the thread that is
 * running, such as the event loop that just started it; it waits for that
 * thread's slice or a free CPU. At a job's first wait for something outside
 * it (a sleep, a timer, I/O) the thread switches to SCHED_OTHER for the rest
 * of the job: the end of a sleep is then on time instead of up to a
 * scheduler tick late behind a busy thread (ocre_sleep polling loops, timer
 * lateness); the next job starts under SCHED_BATCH again. */
#ifndef CONFIG_OCRE_CONTAINER_SCHED_BATCH
#define CONFIG_OCRE_CONTAINER_SCHED_BATCH 1
#endif

/* Container threads are reused: a finished run parks its thread for the
 * next start of the same context. At most CONFIG_OCRE_THREAD_POOL_IDLE stay
 * parked; a thread parked for CONFIG_OCRE_THREAD_POOL_IDLE_MS ends. */
#ifndef CONFIG_OCRE_THREAD_POOL_IDLE
#define CONFIG_OCRE_THREAD_POOL_IDLE 64
#endif
#ifndef CONFIG_OCRE_THREAD_POOL_IDLE_MS
#define CONFIG_OCRE_THREAD_POOL_IDLE_MS 10000
#endif

/* A parked container thread (one per context at a time) first waits this
 * many microseconds on its CPU for the next run, yielding to any other
 * thread that wants the CPU, before it sleeps. A run started within that
 * time (the next of a loop of short runs) costs no wake-up: ~50 us less
 * per ctx.run() cycle on a 2-vCPU VM (BENCHMARKS.md, Issue 19, cold cycle).
 * The price: up to this much CPU after each run that nothing follows. 0:
 * never; never on a single CPU. */
#ifndef CONFIG_OCRE_THREAD_POOL_SPIN_US
#define CONFIG_OCRE_THREAD_POOL_SPIN_US 200
#endif

/* WAMR's per-instance operand/frame stack (a container's default stack_size)
 * and app heap. 512 KiB: the interpreter's frames are ~68 bytes for a small
 * function, so about 7,700 calls deep, as deep as AOT code goes on the
 * container thread's native stack (CONFIG_OCRE_CONTAINER_STACK_SIZE). It is
 * resident while a run is busy and handed back by the idle trim when it
 * sleeps. */
#ifndef CONFIG_OCRE_WASM_STACK_SIZE
#define CONFIG_OCRE_WASM_STACK_SIZE (512 * 1024)
#endif
#ifndef CONFIG_OCRE_WASM_HEAP_SIZE
#define CONFIG_OCRE_WASM_HEAP_SIZE 0

/* Largest WebAssembly stack a container may ask for (its stack_size). */
#define CONFIG_OCRE_WASM_STACK_SIZE_MAX (256u << 20)

/* Most fds a guest may hold open at once, by default (stdio and preopened
 * directories included): a per-container share of the process's fd limit. */
#define CONFIG_OCRE_DEFAULT_MAX_OPEN_FILES 128

/* Bytes of each captured stream (OCRE_STDIO_CAPTURE) a run keeps by default:
 * child_process's maxBuffer. */
#define CONFIG_OCRE_DEFAULT_OUTPUT_LIMIT (1024u * 1024u)
#endif

/* Loaded modules no container uses any more stay loaded for the next create
 * from the same (unchanged) file, up to this many and this many bytes of
 * image/artifact (least recently used go first): a create + remove cycle does
 * not reload, and an AOT artifact is verified and relocated once. */
#ifndef CONFIG_OCRE_MODULE_CACHE_IDLE
#define CONFIG_OCRE_MODULE_CACHE_IDLE 16
#endif
#ifndef CONFIG_OCRE_MODULE_CACHE_IDLE_BYTES
#define CONFIG_OCRE_MODULE_CACHE_IDLE_BYTES (64u << 20)
#endif

/* A container about to sleep this long or longer (WASI poll_oneoff clock,
 * ocre_sleep) first returns the all-zero pages of its linear memory and
 * WASM stack to the OS (MADV_DONTNEED; contents unchanged). */
#ifndef CONFIG_OCRE_IDLE_TRIM_MS
#define CONFIG_OCRE_IDLE_TRIM_MS 1000
#endif

/* Largest linear memory (and any single engine allocation) of a container,
 * unless set per container with ocre_container_set_memory_limit(). */
/* How long ocre_destroy_context() (ctx.close(), process exit) waits for its
 * containers to end after killing them, all together. A run ends at its kill
 * unless a host function never returns (a device provider that hangs, a
 * system call no signal ends); past this bound the context is destroyed
 * anyway with OCRE_ERR_TIMEOUT, and such a run's thread is left to end by
 * itself (the last one frees what the context still holds). */
#ifndef CONFIG_OCRE_DESTROY_TIMEOUT_MS
#define CONFIG_OCRE_DESTROY_TIMEOUT_MS 5000
#endif

#ifndef CONFIG_OCRE_DEFAULT_MEMORY_LIMIT
#define CONFIG_OCRE_DEFAULT_MEMORY_LIMIT (256u * 1024u * 1024u)
#endif

#endif
