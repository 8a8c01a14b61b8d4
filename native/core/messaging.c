/* The message bus of a context: prefix subscriptions, synchronous fan-out to
 * handlers that copy (see <ocre/messaging.h>). Handlers run under the bus
 * lock, so a cancelled subscription's handler is never running or called
 * after ocre_subscription_cancel() returns. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#include <ocre/messaging.h>

struct ocre_subscription {
	struct ocre_bus *bus;
	char *prefix;
	size_t prefix_len;
	ocre_message_handler_t handler;
	void *user;
	struct ocre_subscription *next;
};

struct ocre_bus {
	pthread_mutex_t lock;
	struct ocre_subscription *subs;
	unsigned count;
};

struct ocre_bus *ocre_bus_new(void)
{
	struct ocre_bus *bus = calloc(1, sizeof(*bus));
	if (bus)
		pthread_mutex_init(&bus->lock, NULL);
	return bus;
}

void ocre_bus_free(struct ocre_bus *bus)
{
	if (!bus)
		return;
	/* Subscribers cancel before the context goes; what is left leaked its
	 * subscription and gets nothing more. */
	while (bus->subs) {
		struct ocre_subscription *s = bus->subs;
		bus->subs = s->next;
		free(s->prefix);
		free(s);
	}
	pthread_mutex_destroy(&bus->lock);
	free(bus);
}

struct ocre_subscription *ocre_context_subscribe(struct ocre_context *context, const char *prefix,
                                                 ocre_message_handler_t handler, void *user)
{
	struct ocre_bus *bus;
	struct ocre_subscription *s;

	if (!context || !prefix || !handler) {
		ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "context, prefix and handler are required");
		return NULL;
	}
	if (strnlen(prefix, OCRE_MESSAGE_TOPIC_MAX + 1) > OCRE_MESSAGE_TOPIC_MAX) {
		ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "topic prefix longer than %d bytes", OCRE_MESSAGE_TOPIC_MAX);
		return NULL;
	}
	bus = ocre_context_bus(context);
	s = calloc(1, sizeof(*s));
	if (!s || !(s->prefix = strdup(prefix))) {
		free(s);
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	s->bus = bus;
	s->prefix_len = strlen(prefix);
	s->handler = handler;
	s->user = user;
	pthread_mutex_lock(&bus->lock);
	s->next = bus->subs;
	bus->subs = s;
	bus->count++;
	pthread_mutex_unlock(&bus->lock);
	return s;
}

void ocre_subscription_cancel(struct ocre_subscription *s)
{
	struct ocre_subscription **pp;
	struct ocre_bus *bus;

	if (!s)
		return;
	bus = s->bus;
	pthread_mutex_lock(&bus->lock);
	for (pp = &bus->subs; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			bus->count--;
			break;
		}
	}
	pthread_mutex_unlock(&bus->lock);
	free(s->prefix);
	free(s);
}

int ocre_context_publish(struct ocre_context *context, const char *from, const char *topic, const char *content_type,
                         const void *payload, size_t payload_len)
{
	struct ocre_message msg;
	struct ocre_subscription *s;
	struct ocre_bus *bus;
	size_t topic_len;
	int taken = 0;

	if (!context || !topic || !content_type || !payload)
		return -ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "context, topic, content type and payload are required");
	topic_len = strnlen(topic, OCRE_MESSAGE_TOPIC_MAX + 1);
	if (topic_len == 0 || topic_len > OCRE_MESSAGE_TOPIC_MAX)
		return -ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "topic must be 1 to %d bytes", OCRE_MESSAGE_TOPIC_MAX);
	if (content_type[0] == '\0' || strnlen(content_type, OCRE_MESSAGE_TYPE_MAX + 1) > OCRE_MESSAGE_TYPE_MAX)
		return -ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "content type must be 1 to %d bytes",
		                  OCRE_MESSAGE_TYPE_MAX);
	if (payload_len == 0 || payload_len > OCRE_MESSAGE_PAYLOAD_MAX)
		return -ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "payload must be 1 to %d bytes", OCRE_MESSAGE_PAYLOAD_MAX);

	msg.topic = topic;
	msg.content_type = content_type;
	msg.payload = payload;
	msg.payload_len = payload_len;
	msg.from = from;
	bus = ocre_context_bus(context);
	pthread_mutex_lock(&bus->lock);
	for (s = bus->subs; s; s = s->next)
		if (s->prefix_len <= topic_len && memcmp(s->prefix, topic, s->prefix_len) == 0 &&
		    s->handler(s->user, &msg))
			taken++;
	pthread_mutex_unlock(&bus->lock);
	return taken;
}
