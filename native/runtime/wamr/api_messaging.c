/* The Ocre application API: messaging. A container's subscriptions are on
 * its context's bus (<ocre/messaging.h>); a delivery copies the message once
 * into host memory and queues a message event; ocre_get_event() copies it
 * into the guest's heap (api_events.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "engine.h"

void ocre_api_message_free(struct ocre_api_message *message)
{
	free(message); /* one allocation */
}

/* Bus handler (publisher's thread, bus lock held): copy and queue. */
static bool deliver(void *user, const struct ocre_message *msg)
{
	struct ocre_api *api = user;
	size_t topic_len = strlen(msg->topic) + 1, type_len = strlen(msg->content_type) + 1;
	struct ocre_api_message *m = malloc(sizeof(*m) + topic_len + type_len + msg->payload_len);
	struct ocre_api_event ev = {.type = OCRE_API_RESOURCE_MESSAGE};

	if (!m) {
		__atomic_add_fetch(&api->wc->events_dropped, 1, __ATOMIC_RELAXED);
		return false;
	}
	m->topic = (char *)(m + 1);
	m->content_type = m->topic + topic_len;
	m->payload = (uint8_t *)m->content_type + type_len;
	m->payload_len = (uint32_t)msg->payload_len;
	memcpy(m->topic, msg->topic, topic_len);
	memcpy(m->content_type, msg->content_type, type_len);
	memcpy(m->payload, msg->payload, msg->payload_len);
	ev.message = m;
	if (!ocre_api_post(api, &ev)) {
		free(m);
		return false;
	}
	return true;
}

void ocre_api_messaging_release(struct ocre_api *api)
{
	unsigned i, n;
	struct ocre_subscription *subs[OCRE_API_SUBSCRIPTIONS];

	pthread_mutex_lock(&api->lock);
	n = api->nsubs;
	memcpy(subs, api->subs, sizeof(subs));
	api->nsubs = 0;
	pthread_mutex_unlock(&api->lock);
	for (i = 0; i < n; i++)
		ocre_subscription_cancel(subs[i]); /* no delivery runs or follows */
}

/* A NUL-terminated string at guest address @p s of at most @p max bytes
 * (without the NUL): its length, or -1. */
static long guest_strlen(wasm_exec_env_t exec_env, const char *s, size_t max)
{
	wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
	uint8_t *start, *end;
	size_t n;

	if (!s || !wasm_runtime_get_native_addr_range(inst, (uint8_t *)s, &start, &end))
		return -1;
	n = strnlen(s, (size_t)(end - (uint8_t *)s));
	if (n == (size_t)(end - (uint8_t *)s) || n > max)
		return -1;
	return (long)n;
}

static int api_publish(wasm_exec_env_t exec_env, const char *topic, const char *content_type, const void *payload,
                       int payload_len)
{
	wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
	long topic_len, type_len;
	struct ocre_api *api;
	int err;

	if (!(api = ocre_api_enter(exec_env, &err)))
		return err;
	topic_len = guest_strlen(exec_env, topic, OCRE_MESSAGE_TOPIC_MAX);
	type_len = guest_strlen(exec_env, content_type, OCRE_MESSAGE_TYPE_MAX);
	if (topic_len <= 0 || type_len <= 0 || payload_len <= 0)
		return -EINVAL;
	if (payload_len > OCRE_API_GUEST_PAYLOAD_MAX)
		return -EMSGSIZE;
	if (!ocre_api_native_range(inst, payload, (uint32_t)payload_len))
		return -EFAULT;
	if (!api->context)
		return -ENOTSUP;
	err = ocre_context_publish(api->context, api->wc->id, topic, content_type, payload, (size_t)payload_len);
	return err > 0 ? 0 : err == 0 ? -ENOENT : -EINVAL;
}

static int api_subscribe(wasm_exec_env_t exec_env, const char *prefix)
{
	struct ocre_subscription *sub;
	struct ocre_api *api;
	long len;
	int err;

	if (!(api = ocre_api_enter(exec_env, &err)))
		return err;
	len = guest_strlen(exec_env, prefix, OCRE_MESSAGE_TOPIC_MAX);
	if (len <= 0)
		return -EINVAL;
	if (!api->context)
		return -ENOTSUP;
	/* deliveries are copied into the guest's heap with its own allocator */
	if (!ocre_api_guest_exports(api, exec_env))
		return -ENOSYS;
	/* Only this thread adds or removes subscriptions: read without the lock. */
	if (api->nsubs == OCRE_API_SUBSCRIPTIONS)
		return -ENOSPC;
	sub = ocre_context_subscribe(api->context, prefix, deliver, api);
	if (!sub)
		return -ENOMEM;
	pthread_mutex_lock(&api->lock);
	api->subs[api->nsubs++] = sub;
	pthread_mutex_unlock(&api->lock);
	return 0;
}

/* Is the NUL-terminated string at guest offset @p from exactly @p to - @p from
 * bytes long (its NUL just before @p to)? */
static bool string_ends_at(wasm_module_inst_t inst, uint32_t from, uint32_t to)
{
	const char *s;

	if (to <= from || !ocre_api_app_range(inst, from, to - from))
		return false;
	s = wasm_runtime_addr_app_to_native(inst, from);
	return memchr(s, '\0', to - from) == s + (to - from - 1);
}

/* ocre_messaging_free_module_event_data(topic, content type, payload): what
 * a message event handed over. A delivery is one block of the guest's heap
 * with the three back to back (api_events.c): kept for the next deliveries,
 * or freed once. Anything else is freed piece by piece, as three allocations
 * would be. */
static int api_free_event_data(wasm_exec_env_t exec_env, uint32_t topic, uint32_t content_type, uint32_t payload)
{
	wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
	struct ocre_api *api;
	int err;

	if (!(api = ocre_api_enter(exec_env, &err)))
		return err;
	if (!ocre_api_guest_exports(api, exec_env))
		return -ENOSYS;
	if (topic && string_ends_at(inst, topic, content_type) && string_ends_at(inst, content_type, payload)) {
		if (!ocre_api_block_return(api, topic))
			ocre_api_guest_free(api, exec_env, topic);
		return 0;
	}
	ocre_api_guest_free(api, exec_env, topic);
	ocre_api_guest_free(api, exec_env, content_type);
	ocre_api_guest_free(api, exec_env, payload);
	return 0;
}

static NativeSymbol natives[] = {
    {"ocre_publish_message", (void *)api_publish, "(***i)i", NULL},
    {"ocre_subscribe_message", (void *)api_subscribe, "(*)i", NULL},
    {"ocre_messaging_free_module_event_data", (void *)api_free_event_data, "(iii)i", NULL},
};

bool ocre_api_messaging_register(void)
{
	return wasm_runtime_register_natives("env", natives, sizeof(natives) / sizeof(natives[0]));
}
