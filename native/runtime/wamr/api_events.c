/* The Ocre application API: per-run state, the event queue, and the pull
 * side (ocre_get_event, ocre_register_dispatcher). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "engine.h"

struct ocre_api *ocre_api_new(struct wamr_container *wc, struct ocre_context *context)
{
	struct ocre_api *api = calloc(1, sizeof(*api));

	if (!api)
		return NULL;
	api->wc = wc;
	api->context = context;
	pthread_mutex_init(&api->lock, NULL);
	if (!ocre_api_timers_init(api)) {
		pthread_mutex_destroy(&api->lock);
		free(api);
		return NULL;
	}
	return api;
}

void ocre_api_free(struct ocre_api *api)
{
	unsigned i;

	if (!api)
		return;
	/* First nothing can post any more, then the queue goes. */
	ocre_api_timers_release(api);
	ocre_api_messaging_release(api);
	ocre_api_gpio_release(api);
	for (i = 0; i < api->count; i++)
		ocre_api_message_free(api->queue[(api->head + i) % CONFIG_OCRE_API_EVENT_QUEUE].message);
	pthread_mutex_destroy(&api->lock);
	free(api);
}

bool ocre_api_post(struct ocre_api *api, const struct ocre_api_event *event)
{
	bool queued = false;

	pthread_mutex_lock(&api->lock);
	if (api->count < CONFIG_OCRE_API_EVENT_QUEUE) {
		api->queue[(api->head + api->count) % CONFIG_OCRE_API_EVENT_QUEUE] = *event;
		api->count++;
		queued = true;
	}
	pthread_mutex_unlock(&api->lock);
	if (!queued)
		__atomic_add_fetch(&api->wc->events_dropped, 1, __ATOMIC_RELAXED);
	return queued;
}

static bool take(struct ocre_api *api, struct ocre_api_event *event)
{
	bool got = false;

	pthread_mutex_lock(&api->lock);
	if (api->count > 0) {
		*event = api->queue[api->head];
		api->head = (api->head + 1) % CONFIG_OCRE_API_EVENT_QUEUE;
		api->count--;
		got = true;
	}
	pthread_mutex_unlock(&api->lock);
	return got;
}

bool ocre_api_app_range(wasm_module_inst_t inst, uint32_t offset, uint32_t size)
{
	uint32_t end;
	return wasm_runtime_get_app_addr_range(inst, offset, NULL, &end) && size <= end - offset;
}

bool ocre_api_native_range(wasm_module_inst_t inst, const void *p, uint32_t size)
{
	uint8_t *end;
	return wasm_runtime_get_native_addr_range(inst, (uint8_t *)p, NULL, &end) &&
	       (size_t)size <= (size_t)(end - (const uint8_t *)p);
}

struct ocre_api *ocre_api_enter(wasm_exec_env_t exec_env, int *err)
{
	struct wamr_container *wc = ocre_wamr_from_exec_env(exec_env);

	if (!wc) {
		*err = -EFAULT; /* not called from a container run */
		return NULL;
	}
	if (!ocre_wasi_checkpoint(wc)) {
		wasm_runtime_set_exception(wasm_runtime_get_module_inst(exec_env), OCRE_KILLED_EXCEPTION);
		*err = -EINTR;
		return NULL;
	}
	if (!wc->api) {
		*err = -EACCES; /* no ocre:api capability */
		return NULL;
	}
	return wc->api;
}

bool ocre_api_guest_exports(struct ocre_api *api, wasm_exec_env_t exec_env)
{
	if (!api->exports_looked_up) {
		wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
		api->malloc_fn = wasm_runtime_lookup_function(inst, "malloc", NULL);
		api->free_fn = wasm_runtime_lookup_function(inst, "free", NULL);
		api->exports_looked_up = true;
	}
	return api->malloc_fn && api->free_fn;
}

uint32_t ocre_api_guest_malloc(struct ocre_api *api, wasm_exec_env_t exec_env, uint32_t size)
{
	uint32_t argv[1] = {size};

	if (!ocre_api_guest_exports(api, exec_env) || !wasm_runtime_call_wasm(exec_env, api->malloc_fn, 1, argv))
		return 0;
	return argv[0];
}

void ocre_api_guest_free(struct ocre_api *api, wasm_exec_env_t exec_env, uint32_t offset)
{
	uint32_t argv[1] = {offset};

	if (offset && ocre_api_guest_exports(api, exec_env))
		wasm_runtime_call_wasm(exec_env, api->free_fn, 1, argv);
}

/* A block of at least @p size bytes of the guest's heap for a delivery: a
 * spare one (handed back by an earlier delivery's
 * ocre_messaging_free_module_event_data), else a new one from the guest's
 * malloc, rounded up to OCRE_API_BLOCK bytes so that it suits most later
 * messages too. 0 when the heap is full. */
static uint32_t take_block(struct ocre_api *api, wasm_exec_env_t exec_env, uint32_t size)
{
	struct ocre_api_block b = {0, 0};
	unsigned i;

	for (i = 0; i < api->nspare; i++) {
		if (api->spare[i].size >= size) {
			b = api->spare[i];
			api->spare[i] = api->spare[--api->nspare];
			break;
		}
	}
	if (!b.offset) {
		b.size = (size + OCRE_API_BLOCK - 1) / OCRE_API_BLOCK * OCRE_API_BLOCK;
		b.offset = ocre_api_guest_malloc(api, exec_env, b.size);
		if (!b.offset || wasm_runtime_get_exception(wasm_runtime_get_module_inst(exec_env)))
			return 0;
	}
	if (api->nlent < OCRE_API_LENT)
		api->lent[api->nlent++] = b; /* else the guest's free() takes it back */
	return b.offset;
}

bool ocre_api_block_return(struct ocre_api *api, uint32_t offset)
{
	unsigned i;

	for (i = 0; i < api->nlent; i++) {
		if (api->lent[i].offset != offset)
			continue;
		if (api->nspare == OCRE_API_SPARE) {
			api->lent[i] = api->lent[--api->nlent];
			return false;
		}
		api->spare[api->nspare++] = api->lent[i];
		api->lent[i] = api->lent[--api->nlent];
		return true;
	}
	return false;
}

/* Copy a message into the guest's heap: one block holding the topic, the
 * content type (both NUL-terminated) and the payload, back to back, so a
 * delivery costs at most one guest malloc (none once blocks are reused) and
 * no free. ocre_messaging_free_module_event_data() recognises such a block
 * by its layout and takes it back (api_messaging.c). */
static int copy_message(struct ocre_api *api, wasm_exec_env_t exec_env, const struct ocre_api_message *m,
                        uint32_t out[3])
{
	wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
	uint32_t topic_len = (uint32_t)strlen(m->topic) + 1, type_len = (uint32_t)strlen(m->content_type) + 1;
	uint32_t size = topic_len + type_len + m->payload_len;
	uint8_t *p;

	out[0] = take_block(api, exec_env, size);
	if (!out[0])
		return -ENOMEM;
	/* a native address only now: a malloc may have grown the memory */
	if (!ocre_api_app_range(inst, out[0], size))
		return -ENOMEM;
	p = wasm_runtime_addr_app_to_native(inst, out[0]);
	memcpy(p, m->topic, topic_len);
	memcpy(p + topic_len, m->content_type, type_len);
	memcpy(p + topic_len + type_len, m->payload, m->payload_len);
	out[1] = out[0] + topic_len;
	out[2] = out[1] + type_len;
	return 0;
}

/* ocre_get_event(type*, id*, port*, state*, extra*, payload_len*): six guest
 * offsets of u32s. 0 with the fields written, -ENOMSG when nothing waits. */
static int api_get_event(wasm_exec_env_t exec_env, uint32_t type_p, uint32_t id_p, uint32_t port_p, uint32_t state_p,
                         uint32_t extra_p, uint32_t len_p)
{
	wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
	const uint32_t where[6] = {type_p, id_p, port_p, state_p, extra_p, len_p};
	uint32_t value[6] = {0}, copies[3] = {0};
	struct ocre_api_event ev;
	struct ocre_api *api;
	int err, i;

	if (!(api = ocre_api_enter(exec_env, &err)))
		return err;
	for (i = 0; i < 6; i++)
		if (!ocre_api_app_range(inst, where[i], sizeof(uint32_t)))
			return -EFAULT;
	if (!take(api, &ev))
		return -ENOMSG;
	value[0] = ev.type;
	value[1] = ev.id;
	value[2] = ev.port;
	value[3] = ev.state;
	if (ev.type == OCRE_API_RESOURCE_MESSAGE) {
		value[1] = ++api->next_message_id;
		value[5] = ev.message->payload_len;
		err = copy_message(api, exec_env, ev.message, copies);
		ocre_api_message_free(ev.message);
		if (err) {
			/* the guest's heap is full (or it has no malloc/free) */
			__atomic_add_fetch(&api->wc->events_dropped, 1, __ATOMIC_RELAXED);
			return err;
		}
		value[2] = copies[0];
		value[3] = copies[1];
		value[4] = copies[2];
	}
	for (i = 0; i < 6; i++) {
		/* validated above; the memory only grows */
		uint32_t *p = wasm_runtime_addr_app_to_native(inst, where[i]);
		memcpy(p, &value[i], sizeof(uint32_t));
	}
	return 0;
}

/* ocre_register_dispatcher(type, name): 0 when @p name is an exported
 * function. The runtime never calls it (the SDK dispatches itself). */
static int api_register_dispatcher(wasm_exec_env_t exec_env, int type, const char *name)
{
	struct ocre_api *api;
	int err;

	if (!(api = ocre_api_enter(exec_env, &err)))
		return err;
	if (type < 0 || type >= OCRE_API_RESOURCE__COUNT || !name || !name[0])
		return -EINVAL;
	return wasm_runtime_lookup_function(wasm_runtime_get_module_inst(exec_env), name, NULL) ? 0 : -ENOENT;
}

static NativeSymbol natives[] = {
    {"ocre_get_event", (void *)api_get_event, "(iiiiii)i", NULL},
    {"ocre_register_dispatcher", (void *)api_register_dispatcher, "(i$)i", NULL},
};

bool ocre_api_events_register(void)
{
	return wasm_runtime_register_natives("env", natives, sizeof(natives) / sizeof(natives[0]));
}
