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
 * id, Linux), so that the thread running the caller's event loop wins the
 * CPU over busy containers. 0 keeps the creator's priority. Raising a
 * thread's niceness needs no privilege. */
#ifndef CONFIG_OCRE_CONTAINER_NICE
#define CONFIG_OCRE_CONTAINER_NICE 10
#endif

/* WAMR's per-instance operand/frame stack and app heap. */
#ifndef CONFIG_OCRE_WASM_STACK_SIZE
#define CONFIG_OCRE_WASM_STACK_SIZE (64 * 1024)
#endif
#ifndef CONFIG_OCRE_WASM_HEAP_SIZE
#define CONFIG_OCRE_WASM_HEAP_SIZE 0
#endif

/* Largest linear memory (and any single engine allocation) of a container,
 * unless set per container with ocre_container_set_memory_limit(). */
#ifndef CONFIG_OCRE_DEFAULT_MEMORY_LIMIT
#define CONFIG_OCRE_DEFAULT_MEMORY_LIMIT (256u * 1024u * 1024u)
#endif

#endif
