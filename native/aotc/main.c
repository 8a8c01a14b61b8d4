/* ocre-aotc: compile a WebAssembly module to a WAMR AOT file for ocre-node.
 *
 *   ocre-aotc [--cpu=x86-64|generic|native|NAME] [--opt=0..3|auto] [--memory-limit=BYTES]
 *             [--parent=PID] [--progress] [--verbose] [--part=I/N | --object=FILE.o] IN.wasm OUT
 *
 * Code is generated for the machine's own architecture (x86_64 or aarch64),
 * for the architecture's baseline CPU by default (x86-64, generic): portable
 * to every machine of that architecture. --cpu native (or a CPU name) uses
 * this machine's extensions; such code is only for machines of that CPU.
 *
 * The options that keep the runtime's guarantees are fixed, not flags:
 *   - thread-manager checks at loop heads and calls (a kill ends a busy loop);
 *   - memory bounds checks as the runtime built beside it does them
 *     (OCRE_AOT_BOUNDS, wamr-features.cmake): none in the code where the
 *     runtime traps out-of-bounds accesses by its guard regions ("guard",
 *     64-bit targets), software checks otherwise ("software"); and
 *     native-stack bounds checks always (deep recursion traps instead of
 *     overflowing the thread);
 *   - auxiliary-stack checks, bulk memory, reference types and tail calls as
 *     in the interpreter build; no SIMD (the interpreter has none either).
 *
 * --opt=auto (what lib/aot.ts passes) picks the LLVM optimisation level by
 * the size of the module's code: WAMR 1.1.2 optimises the whole module as
 * one LLVM module (its LTO pre-link pipeline at O3, inlining across every
 * function), whose time and memory grow much faster than the code; see
 * BENCHMARKS.md "AOT compile of a large module" for the measurements behind the
 * thresholds. --opt=N forces a level (the default, without --opt, is 3).
 *
 * --memory-limit: the compiler's data (heap and anonymous mappings,
 * RLIMIT_DATA) may not exceed BYTES; past it allocations fail and the
 * compiler exits with status 3 and "ocre-aotc: out of memory" (LLVM aborts
 * on some failed allocations: SIGABRT). The caller (lib/aot.ts) also watches
 * the process's RSS and enforces the time budget.
 *
 * --parent=PID: the compile belongs to process PID, which started it
 * (lib/aot.ts passes its own): it ends with that process. On Linux the
 * kernel kills the compiler (SIGKILL, PR_SET_PDEATHSIG) when the thread that
 * started it exits (a Node killed, crashed, or ended by a signal whose
 * default ends it, which runs no 'exit' handler; a worker thread that
 * ended), so no compile outlives its requester for minutes at gigabytes of
 * memory; if PID is already gone (not the parent any more), it exits at once
 * with status 1.
 *
 * --progress: "progress PHASE DONE TOTAL" lines on stderr, PHASE being
 * translate (DONE of TOTAL functions translated to LLVM IR, at most ~100
 * lines), then optimize (the LLVM passes run) and codegen (machine code and
 * the AOT file are generated), each with DONE 0.
 *
 * Split compilation (lib/aot.ts drives it for large modules): WAMR 1.1.2
 * builds one LLVM module for the whole program, whose IR alone outgrows the
 * memory of most machines for a module of tens of MB. Instead:
 *   --part=I/N  compiles part I (0..N-1) of N into the relocatable object
 *               OUT: the module's functions are cut into N runs of
 *               consecutive functions of about equal code size; only part
 *               I's bodies are translated, every other function stays a
 *               declaration, so calls across parts are relocations against
 *               its aot_func#K symbol (WAMR patch 0010);
 *   the N objects are merged by a linker (ld.lld -r) into one object;
 *   --object=FILE.o  writes the AOT file OUT from IN.wasm (types, memories,
 *               tables, data, exports, as always) and that object's code,
 *               instead of compiling (patch 0010): a normal WAMR 1.1.2 AOT
 *               file, which the loader links as it links any (aot_func#K
 *               relocations resolve to the function pointers).
 * Every part and the final step must get the same IN, --cpu and --opt
 * (--opt=auto is decided from the whole module's code size).
 *
 * On success prints one JSON line on stdout describing what was compiled
 * (target, cpu, features, options, WAMR version) and exits 0. On failure
 * prints "ocre-aotc: <reason>" on stderr and exits 1 (2 for usage errors).
 * OUT is created with owner-only permissions; on failure it is removed. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <signal.h>
#include <sys/prctl.h>
#endif

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <llvm/Config/llvm-config.h>

#include "aot_export.h"
#include "version.h"
#include "wasm_export.h"

/* --opt=auto thresholds (bytes of function bodies): see BENCHMARKS.md (AOT compile of a large module) */
#define AUTO_O3_MAX_CODE (4u << 20)
#define AUTO_O2_MAX_CODE (12u << 20)

#define STR_(x) #x
#define STR(x) STR_(x)
#define WAMR_VERSION STR(WAMR_VERSION_MAJOR) "." STR(WAMR_VERSION_MINOR) "." STR(WAMR_VERSION_PATCH)

#if defined(__x86_64__)
#define TARGET_ARCH "x86_64"
#define BASELINE_CPU "x86-64"
#elif defined(__aarch64__)
#define TARGET_ARCH "aarch64"
#define BASELINE_CPU "generic"
#else
#error "ocre-aotc supports x86_64 and aarch64 hosts"
#endif

static bool verbose;

/* WAMR's hook into aot_compile_wasm (our patch 0004). */
extern void (*aot_compile_progress_hook)(const char *phase, uint32_t done, uint32_t total);
/* Split compilation (our patch 0010). */
extern bool (*aot_compile_func_filter)(uint32_t func_index);
extern LLVMMemoryBufferRef aot_emit_object_override;

static uint32_t progress_step = 1;
/* --part: the functions [part_first, part_end) are compiled */
static bool part_mode;
static uint32_t part_first, part_end, part_translated;

static void progress(const char *phase, uint32_t done, uint32_t total)
{
	if (part_mode) {
		/* the hook is called for the part's functions only (patch 0010) */
		total = part_end - part_first;
		if (strcmp(phase, "translate") == 0)
			done = ++part_translated;
	}
	if (strcmp(phase, "translate") == 0 && done % progress_step != 0 && done != total)
		return;
	fprintf(stderr, "progress %s %u %u\n", phase, done, total);
	fflush(stderr);
}

static bool in_part(uint32_t func_index)
{
	return func_index >= part_first && func_index < part_end;
}

static uint32_t read_leb32(const uint8_t **p, const uint8_t *end, bool *ok)
{
	uint32_t v = 0;
	for (unsigned shift = 0; *p < end && shift < 35; shift += 7) {
		uint8_t b = *(*p)++;
		v |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	*ok = false;
	return 0;
}

/* Bytes of function bodies (the code section's size) of a module WAMR has
 * already validated, their number in *@p count and the first body's size
 * field in *@p bodies; 0 if there is none. */
static uint32_t code_section(const uint8_t *wasm, uint32_t size, uint32_t *count, const uint8_t **bodies)
{
	const uint8_t *p = wasm + 8, *end = wasm + size;
	bool ok = true;

	*count = 0;
	while (p < end && ok) {
		uint8_t id = *p++;
		uint32_t len = read_leb32(&p, end, &ok);
		if (!ok || len > (uint32_t)(end - p))
			return 0;
		if (id == 10) {
			const uint8_t *q = p;
			*count = read_leb32(&q, p + len, &ok);
			*bodies = q;
			return ok ? len : 0;
		}
		p += len;
	}
	return 0;
}

/* --part=I/N: the functions of part @p part, [*first, *end): consecutive
 * functions, a function belonging to the part its middle byte falls in when
 * the code is cut into @p parts runs of equal size. */
static void part_range(const uint8_t *bodies, const uint8_t *code_end, uint32_t count, uint32_t code_bytes,
                       uint32_t part, uint32_t parts, uint32_t *first, uint32_t *end)
{
	const uint8_t *p = bodies;
	bool ok = true;
	uint32_t i;

	*first = *end = count;
	for (i = 0; i < count; i++) {
		const uint8_t *start = p;
		uint32_t len = read_leb32(&p, code_end, &ok);
		uint64_t middle;
		uint32_t which;

		if (!ok || len > (uint32_t)(code_end - p))
			break; /* WAMR validated the module: not reached */
		p += len;
		middle = (uint64_t)(start - bodies) + (uint64_t)(p - start) / 2;
		which = (uint32_t)(middle * parts / (code_bytes ? code_bytes : 1));
		if (which >= parts)
			which = parts - 1;
		if (which == part && *first == count)
			*first = i;
		if (which > part) {
			*end = i;
			break;
		}
	}
	if (*first == count)
		*end = count; /* an empty part */
}

/* --opt=auto: the level for a module with @p bytes of code. */
static unsigned auto_opt_level(uint32_t bytes)
{
	if (bytes <= AUTO_O3_MAX_CODE)
		return 3;
	if (bytes <= AUTO_O2_MAX_CODE)
		return 2;
	return 1;
}

/* WAMR's log level (core/shared/utils/bh_log.h, not a public header). */
void bh_log_set_verbose_level(uint32_t level);

/* WAMR's own messages (BH_VPRINTF): only with --verbose, and never on stdout,
 * which carries the result line. */
int ocre_aotc_vprintf(const char *format, va_list ap)
{
	return verbose ? vfprintf(stderr, format, ap) : 0;
}

static char last_failure[512];

static void fail(const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vsnprintf(last_failure, sizeof(last_failure), format, ap);
	va_end(ap);
	fprintf(stderr, "ocre-aotc: %s\n", last_failure);
}

static uint8_t *read_file(const char *path, uint32_t *size)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fail("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > UINT32_MAX) {
		fail("%s is not a regular file under 4 GiB", path);
		close(fd);
		return NULL;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		fail("out of memory reading %s", path);
		close(fd);
		return NULL;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fail("cannot read %s: %s", path, n < 0 ? strerror(errno) : "file shrank");
			free(buf);
			close(fd);
			return NULL;
		}
		done += (size_t)n;
	}
	close(fd);
	*size = (uint32_t)st.st_size;
	return buf;
}

/* JSON string body: the values printed are LLVM CPU names and feature lists. */
static void print_json_string(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static int usage(void)
{
	fputs("usage: ocre-aotc [--cpu=" BASELINE_CPU "|native|NAME] [--opt=0..3|auto] [--memory-limit=BYTES] "
	      "[--parent=PID] [--progress] [--verbose] [--part=I/N | --object=FILE.o] IN.wasm OUT\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const char *cpu_arg = BASELINE_CPU, *in = NULL, *out = NULL;
	char *host_cpu = NULL, *host_features = NULL;
	unsigned opt = 3;
	bool opt_auto = false, show_progress = false;
	unsigned long long memory_limit = 0;
	long parent = 0;
	unsigned long part = 0, parts = 0;
	const char *object = NULL;
	const uint8_t *bodies = NULL;
	char *endp;
	int i, rc = 1;
	uint32_t size = 0, code_bytes, func_count;
	uint8_t *wasm = NULL;
	char error[256] = "";
	wasm_module_t module = NULL;
	aot_comp_data_t comp_data = NULL;
	aot_comp_context_t comp_ctx = NULL;
	AOTCompOption option;
	RuntimeInitArgs init;

	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--cpu=", 6) == 0 && argv[i][6])
			cpu_arg = argv[i] + 6;
		else if (strncmp(argv[i], "--opt=", 6) == 0 && argv[i][6] >= '0' && argv[i][6] <= '3' && !argv[i][7])
			opt = (unsigned)(argv[i][6] - '0');
		else if (strcmp(argv[i], "--opt=auto") == 0)
			opt_auto = true;
		else if (strncmp(argv[i], "--memory-limit=", 15) == 0 && argv[i][15] >= '1' && argv[i][15] <= '9') {
			errno = 0;
			memory_limit = strtoull(argv[i] + 15, &endp, 10);
			if (errno || *endp)
				return usage();
		} else if (strncmp(argv[i], "--parent=", 9) == 0 && argv[i][9] >= '1' && argv[i][9] <= '9') {
			errno = 0;
			parent = strtol(argv[i] + 9, &endp, 10);
			if (errno || *endp || parent <= 0 || (pid_t)parent != parent)
				return usage();
		} else if (strncmp(argv[i], "--part=", 7) == 0 && argv[i][7] >= '0' && argv[i][7] <= '9') {
			errno = 0;
			part = strtoul(argv[i] + 7, &endp, 10);
			if (errno || *endp != '/' || endp[1] < '1' || endp[1] > '9')
				return usage();
			parts = strtoul(endp + 1, &endp, 10);
			if (errno || *endp || part >= parts || parts > 65536)
				return usage();
		} else if (strncmp(argv[i], "--object=", 9) == 0 && argv[i][9])
			object = argv[i] + 9;
		else if (strcmp(argv[i], "--progress") == 0)
			show_progress = true;
		else if (strcmp(argv[i], "--verbose") == 0)
			verbose = true;
		else if (strcmp(argv[i], "--version") == 0) {
			printf("ocre-aotc (WAMR %s, LLVM %d)\n", WAMR_VERSION, LLVM_VERSION_MAJOR);
			return 0;
		} else if (argv[i][0] == '-' && argv[i][1])
			return usage();
		else if (!in)
			in = argv[i];
		else if (!out)
			out = argv[i];
		else
			return usage();
	}
	if (!in || !out || (parts && object))
		return usage();

	if (parent) {
#ifdef __linux__
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
			fail("cannot tie the compile to process %ld: %s", parent, strerror(errno));
			return 1;
		}
#endif
		/* after the prctl: a parent that died before it is seen here */
		if (getppid() != (pid_t)parent) {
			fail("process %ld, which started this compile, is gone", parent);
			return 1;
		}
	}
	umask(077); /* the AOT file is native code: owner-only */
	if (memory_limit) {
		struct rlimit rl = {(rlim_t)memory_limit, (rlim_t)memory_limit};
		if (setrlimit(RLIMIT_DATA, &rl) != 0) {
			fail("cannot set the memory limit: %s", strerror(errno));
			return 1;
		}
	}

	memset(&init, 0, sizeof(init));
	init.mem_alloc_type = Alloc_With_System_Allocator;
	if (!wasm_runtime_full_init(&init)) {
		fail("cannot initialise WAMR and LLVM");
		return 1;
	}
	if (verbose)
		bh_log_set_verbose_level(3); /* WAMR prints the time of each compilation phase */
	if (!(wasm = read_file(in, &size)))
		goto out;
	if (size < 4 || memcmp(wasm, "\0asm", 4) != 0) {
		fail("%s is not a WebAssembly binary module", in);
		goto out;
	}
	if (!(module = wasm_runtime_load(wasm, size, error, sizeof(error)))) {
		fail("invalid module: %s", error[0] ? error : "WAMR cannot load it");
		goto out;
	}
	if (!(comp_data = aot_create_comp_data(module))) {
		fail("%s", aot_get_last_error());
		goto out;
	}
	code_bytes = code_section(wasm, size, &func_count, &bodies);
	if (opt_auto)
		opt = auto_opt_level(code_bytes);

	memset(&option, 0, sizeof(option));
	option.target_arch = TARGET_ARCH;
	if (strcmp(cpu_arg, "native") == 0) {
		host_cpu = LLVMGetHostCPUName();
		host_features = LLVMGetHostCPUFeatures();
		option.target_cpu = host_cpu;
		option.cpu_features = host_features;
	} else {
		option.target_cpu = (char *)cpu_arg;
	}
	option.opt_level = opt;
	option.size_level = 3;
	option.output_format = AOT_FORMAT_FILE;
	option.enable_thread_mgr = true;
	option.enable_bulk_memory = true;
	option.enable_ref_types = true;
	option.enable_tail_call = true;
	option.enable_simd = false;
	option.enable_aux_stack_check = true;
	option.bounds_checks = strcmp(OCRE_AOT_BOUNDS, "guard") == 0 ? 0 : 1;
	option.stack_bounds_checks = 1;

	if (!(comp_ctx = aot_create_comp_context(comp_data, &option))) {
		fail("%s", aot_get_last_error());
		goto out;
	}
	if (parts) {
		part_mode = true;
		part_range(bodies, bodies ? wasm + size : NULL, func_count, code_bytes, (uint32_t)part, (uint32_t)parts,
		           &part_first, &part_end);
		aot_compile_func_filter = in_part;
	}
	if (show_progress) {
		aot_compile_progress_hook = progress;
		progress_step = ((part_mode ? part_end - part_first : func_count) + 99) / 100;
		if (!progress_step)
			progress_step = 1;
	}
	if (object) {
		char *err = NULL;
		LLVMMemoryBufferRef buf = NULL;

		if (LLVMCreateMemoryBufferWithContentsOfFile(object, &buf, &err) != 0) {
			fail("cannot read %s: %s", object, err ? err : "unknown error");
			LLVMDisposeMessage(err);
			goto out;
		}
		aot_emit_object_override = buf; /* aot_emit_aot_file takes it over */
	} else if (!aot_compile_wasm(comp_ctx)) {
		fail("compilation failed: %s", aot_get_last_error());
		goto out;
	}
	if (show_progress)
		progress("codegen", 0, func_count);
	unlink(out); /* a leftover would keep its permissions */
	if (part_mode ? !aot_emit_object_file(comp_ctx, out) : !aot_emit_aot_file(comp_ctx, comp_data, out)) {
		fail("cannot write %s: %s", out, aot_get_last_error());
		unlink(out);
		goto out;
	}

	printf("{\"wamr\":\"%s\",\"llvm\":%d,\"target\":\"%s\",\"portable\":%s,\"cpu\":", WAMR_VERSION,
	       LLVM_VERSION_MAJOR, TARGET_ARCH, strcmp(cpu_arg, BASELINE_CPU) == 0 ? "true" : "false");
	print_json_string(option.target_cpu);
	printf(",\"features\":");
	print_json_string(option.cpu_features ? option.cpu_features : "");
	printf(",\"opt\":%u,\"bounds\":\"%s\",\"threadMgr\":true,\"functions\":%u,\"codeBytes\":%u", opt,
	       OCRE_AOT_BOUNDS, func_count, code_bytes);
	if (part_mode)
		printf(",\"part\":%lu,\"parts\":%lu,\"partFunctions\":[%u,%u]", part, parts, part_first, part_end);
	printf("}\n");
	if (fflush(stdout) != 0) {
		unlink(out);
		goto out;
	}
	rc = 0;

out:
	/* under --memory-limit, WAMR's failed allocations end up here */
	if (rc && memory_limit && strstr(last_failure, "memory")) {
		fprintf(stderr, "ocre-aotc: out of memory (--memory-limit=%llu)\n", memory_limit);
		rc = 3;
	}
	if (aot_emit_object_override) { /* not taken over: the emitter was not reached */
		LLVMDisposeMemoryBuffer(aot_emit_object_override);
		aot_emit_object_override = NULL;
	}
	if (comp_ctx)
		aot_destroy_comp_context(comp_ctx);
	if (comp_data)
		aot_destroy_comp_data(comp_data);
	if (module)
		wasm_runtime_unload(module);
	free(wasm);
	if (host_cpu)
		LLVMDisposeMessage(host_cpu);
	if (host_features)
		LLVMDisposeMessage(host_features);
	wasm_runtime_destroy();
	return rc;
}
