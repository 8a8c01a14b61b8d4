/* Sensor and GPIO providers of a context, the calls engines make on them,
 * and GPIO change watches (see <ocre/devices.h>).
 *
 * Registered providers never change and are only appended: readers see a
 * count published with release semantics and read entries without a lock. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#include <ocre/devices.h>

struct sensor_entry {
	char *name;
	unsigned channels;
	int types[OCRE_SENSOR_CHANNELS_MAX];
	void (*read)(void *user, unsigned channel, struct ocre_device_call *call);
	void *user;
};

struct gpio_entry {
	char *name;
	unsigned pins;
	char *pin_names[OCRE_GPIO_PINS_MAX];
	void (*configure)(void *user, unsigned pin, int direction, struct ocre_device_call *call);
	void (*set)(void *user, unsigned pin, int state, struct ocre_device_call *call);
	void (*get)(void *user, unsigned pin, struct ocre_device_call *call);
	void *user;
};

struct ocre_gpio_watch {
	struct ocre_devices *devices;
	unsigned port, pin;
	bool (*handler)(void *user, unsigned port, unsigned pin, int state);
	void *user;
	struct ocre_gpio_watch *next;
};

struct ocre_devices {
	pthread_mutex_t lock; /* registration, and the watch list */
	struct sensor_entry sensors[OCRE_SENSORS_MAX];
	int nsensors; /* published with release semantics */
	struct gpio_entry ports[OCRE_GPIO_PORTS_MAX];
	int nports;
	struct ocre_gpio_watch *watches;
};

struct ocre_device_call {
	pthread_mutex_t lock;
	int refs;
	int done; /* atomic */
	int result;
	double value;
	void (*wake)(void *);
	void *wake_arg;
};

struct ocre_devices *ocre_devices_new(void)
{
	struct ocre_devices *d = calloc(1, sizeof(*d));
	if (d)
		pthread_mutex_init(&d->lock, NULL);
	return d;
}

void ocre_devices_free(struct ocre_devices *d)
{
	int i;
	unsigned p;

	if (!d)
		return;
	for (i = 0; i < d->nsensors; i++)
		free(d->sensors[i].name);
	for (i = 0; i < d->nports; i++) {
		free(d->ports[i].name);
		for (p = 0; p < d->ports[i].pins; p++)
			free(d->ports[i].pin_names[p]);
	}
	while (d->watches) { /* watchers cancel first; what is left gets nothing more */
		struct ocre_gpio_watch *w = d->watches;
		d->watches = w->next;
		free(w);
	}
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static bool valid_name(const char *name)
{
	size_t n = name ? strnlen(name, OCRE_DEVICE_NAME_MAX + 1) : 0;
	return n > 0 && n <= OCRE_DEVICE_NAME_MAX;
}

static int count_of(const int *n)
{
	return __atomic_load_n(n, __ATOMIC_ACQUIRE);
}

int ocre_context_register_sensor(struct ocre_context *context, const struct ocre_sensor_provider *p)
{
	struct ocre_devices *d;
	struct sensor_entry *e;
	int i, index;

	if (!context || !p || !valid_name(p->name) || !p->read || p->channels < 1 ||
	    p->channels > OCRE_SENSOR_CHANNELS_MAX)
		return -ocre_fail(OCRE_ERR_INVALID_ARGUMENT,
		                  "a sensor needs a name of 1 to %d bytes, 1 to %d channels and a read function",
		                  OCRE_DEVICE_NAME_MAX, OCRE_SENSOR_CHANNELS_MAX);
	d = ocre_context_devices(context);
	pthread_mutex_lock(&d->lock);
	for (i = 0; i < d->nsensors; i++)
		if (strcmp(d->sensors[i].name, p->name) == 0) {
			pthread_mutex_unlock(&d->lock);
			return -ocre_fail(OCRE_ERR_EXISTS, "a sensor named %s is already registered", p->name);
		}
	if (d->nsensors == OCRE_SENSORS_MAX) {
		pthread_mutex_unlock(&d->lock);
		return -ocre_fail(OCRE_ERR_UNSUPPORTED, "at most %d sensors per context", OCRE_SENSORS_MAX);
	}
	e = &d->sensors[d->nsensors];
	if (!(e->name = strdup(p->name))) {
		pthread_mutex_unlock(&d->lock);
		return -ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
	}
	e->channels = p->channels;
	for (i = 0; i < (int)p->channels; i++)
		e->types[i] = p->channel_types ? p->channel_types[i] : 0;
	e->read = p->read;
	e->user = p->user;
	index = d->nsensors;
	__atomic_store_n(&d->nsensors, index + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->lock);
	return index;
}

/* ---- the built-in test sensor ---- */

static uint64_t random_state = 0x9e3779b97f4a7c15ull;

static void random_read(void *user, unsigned channel, struct ocre_device_call *call)
{
	uint64_t x = __atomic_load_n(&random_state, __ATOMIC_RELAXED), next;
	do { /* xorshift64 */
		next = x ^ (x << 13);
		next ^= next >> 7;
		next ^= next << 17;
	} while (!__atomic_compare_exchange_n(&random_state, &x, next, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	ocre_device_call_complete(call, 0, (double)(next >> 11) / (double)(1ull << 53) * 100.0);
}

int ocre_context_register_random_sensor(struct ocre_context *context)
{
	static const int types[] = {0, 1, 2, 3};
	const struct ocre_sensor_provider p = {
	    .name = "ocre-random", .channels = 4, .channel_types = types, .read = random_read};
	return ocre_context_register_sensor(context, &p);
}

int ocre_context_register_gpio(struct ocre_context *context, const struct ocre_gpio_provider *p)
{
	struct ocre_devices *d;
	struct gpio_entry *e;
	unsigned pin;
	int i, index;

	if (!context || !p || !valid_name(p->name) || !p->configure || !p->set || !p->get || p->pins < 1 ||
	    p->pins > OCRE_GPIO_PINS_MAX)
		return -ocre_fail(OCRE_ERR_INVALID_ARGUMENT,
		                  "a GPIO port needs a name of 1 to %d bytes, 1 to %d pins, configure, set and get",
		                  OCRE_DEVICE_NAME_MAX, OCRE_GPIO_PINS_MAX);
	for (pin = 0; p->pin_names && pin < p->pins; pin++)
		if (p->pin_names[pin] && !valid_name(p->pin_names[pin]))
			return -ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "pin names are 1 to %d bytes",
			                  OCRE_DEVICE_NAME_MAX);
	d = ocre_context_devices(context);
	pthread_mutex_lock(&d->lock);
	for (i = 0; i < d->nports; i++)
		if (strcmp(d->ports[i].name, p->name) == 0) {
			pthread_mutex_unlock(&d->lock);
			return -ocre_fail(OCRE_ERR_EXISTS, "a GPIO port named %s is already registered", p->name);
		}
	if (d->nports == OCRE_GPIO_PORTS_MAX) {
		pthread_mutex_unlock(&d->lock);
		return -ocre_fail(OCRE_ERR_UNSUPPORTED, "at most %d GPIO ports per context", OCRE_GPIO_PORTS_MAX);
	}
	e = &d->ports[d->nports];
	memset(e, 0, sizeof(*e));
	e->name = strdup(p->name);
	for (pin = 0; e->name && p->pin_names && pin < p->pins; pin++)
		if (p->pin_names[pin] && !(e->pin_names[pin] = strdup(p->pin_names[pin])))
			break;
	if (!e->name || (p->pin_names && pin < p->pins)) {
		free(e->name);
		while (pin-- > 0)
			free(e->pin_names[pin]);
		memset(e, 0, sizeof(*e));
		pthread_mutex_unlock(&d->lock);
		return -ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
	}
	e->pins = p->pins;
	e->configure = p->configure;
	e->set = p->set;
	e->get = p->get;
	e->user = p->user;
	index = d->nports;
	__atomic_store_n(&d->nports, index + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->lock);
	return index;
}

/* ---- lookups (engines) ---- */

int ocre_context_sensor_count(struct ocre_context *context)
{
	return context ? count_of(&ocre_context_devices(context)->nsensors) : 0;
}

bool ocre_context_sensor_info(struct ocre_context *context, int index, struct ocre_sensor_info *info)
{
	struct ocre_devices *d = context ? ocre_context_devices(context) : NULL;

	if (!d || index < 0 || index >= count_of(&d->nsensors))
		return false;
	info->name = d->sensors[index].name;
	info->channels = d->sensors[index].channels;
	info->channel_types = d->sensors[index].types;
	return true;
}

int ocre_context_sensor_find(struct ocre_context *context, const char *name)
{
	struct ocre_devices *d = context ? ocre_context_devices(context) : NULL;
	int i, n = d ? count_of(&d->nsensors) : 0;

	for (i = 0; name && i < n; i++)
		if (strcmp(d->sensors[i].name, name) == 0)
			return i;
	return -1;
}

int ocre_context_gpio_port_count(struct ocre_context *context)
{
	return context ? count_of(&ocre_context_devices(context)->nports) : 0;
}

unsigned ocre_context_gpio_pins(struct ocre_context *context, unsigned port)
{
	struct ocre_devices *d = context ? ocre_context_devices(context) : NULL;
	return d && port < (unsigned)count_of(&d->nports) ? d->ports[port].pins : 0;
}

bool ocre_context_gpio_find(struct ocre_context *context, const char *name, unsigned *port, unsigned *pin)
{
	struct ocre_devices *d = context ? ocre_context_devices(context) : NULL;
	int i, n = d ? count_of(&d->nports) : 0;
	const char *slash = name ? strrchr(name, '/') : NULL;
	unsigned p;

	for (i = 0; name && i < n; i++) {
		struct gpio_entry *e = &d->ports[i];
		for (p = 0; p < e->pins; p++)
			if (e->pin_names[p] && strcmp(e->pin_names[p], name) == 0)
				goto found;
		/* "PORT/PIN" */
		if (slash && (size_t)(slash - name) == strlen(e->name) &&
		    strncmp(name, e->name, strlen(e->name)) == 0) {
			char *end;
			unsigned long v = strtoul(slash + 1, &end, 10);
			if (slash[1] >= '0' && slash[1] <= '9' && *end == '\0' && v < e->pins) {
				p = (unsigned)v;
				goto found;
			}
		}
		continue;
	found:
		*port = (unsigned)i;
		*pin = p;
		return true;
	}
	return false;
}

/* ---- calls ---- */

void ocre_device_call_complete(struct ocre_device_call *call, int result, double value)
{
	bool last;

	if (!call)
		return;
	pthread_mutex_lock(&call->lock);
	if (__atomic_load_n(&call->done, __ATOMIC_RELAXED)) {
		pthread_mutex_unlock(&call->lock); /* completed twice: a provider bug, ignored */
		return;
	}
	call->result = result > 0 ? 0 : result;
	call->value = value;
	__atomic_store_n(&call->done, 1, __ATOMIC_RELEASE);
	if (call->wake)
		call->wake(call->wake_arg);
	last = --call->refs == 0;
	pthread_mutex_unlock(&call->lock);
	if (last) {
		pthread_mutex_destroy(&call->lock);
		free(call);
	}
}

bool ocre_device_call_done(struct ocre_device_call *call, int *result, double *value)
{
	if (!__atomic_load_n(&call->done, __ATOMIC_ACQUIRE))
		return false;
	*result = call->result;
	*value = call->value;
	return true;
}

void ocre_device_call_release(struct ocre_device_call *call)
{
	bool last;

	if (!call)
		return;
	pthread_mutex_lock(&call->lock);
	call->wake = NULL;
	last = --call->refs == 0;
	pthread_mutex_unlock(&call->lock);
	if (last) {
		pthread_mutex_destroy(&call->lock);
		free(call);
	}
}

struct ocre_device_call *ocre_device_call_start(struct ocre_context *context, enum ocre_device_op op, unsigned unit,
                                                unsigned channel, int arg, void (*wake)(void *), void *wake_arg,
                                                int *error)
{
	struct ocre_devices *d = context ? ocre_context_devices(context) : NULL;
	struct ocre_device_call *call;
	bool sensor = op == OCRE_DEVICE_SENSOR_READ;

	if (!d || unit >= (unsigned)count_of(sensor ? &d->nsensors : &d->nports)) {
		*error = -ENODEV;
		return NULL;
	}
	if (channel >= (sensor ? d->sensors[unit].channels : d->ports[unit].pins)) {
		*error = -EINVAL;
		return NULL;
	}
	call = calloc(1, sizeof(*call));
	if (!call) {
		*error = -ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&call->lock, NULL);
	call->refs = 2; /* the caller's and the provider's */
	call->wake = wake;
	call->wake_arg = wake_arg;
	switch (op) {
	case OCRE_DEVICE_SENSOR_READ:
		d->sensors[unit].read(d->sensors[unit].user, channel, call);
		break;
	case OCRE_DEVICE_GPIO_CONFIGURE:
		d->ports[unit].configure(d->ports[unit].user, channel, arg, call);
		break;
	case OCRE_DEVICE_GPIO_SET:
		d->ports[unit].set(d->ports[unit].user, channel, arg, call);
		break;
	case OCRE_DEVICE_GPIO_GET:
		d->ports[unit].get(d->ports[unit].user, channel, call);
		break;
	}
	return call;
}

/* ---- GPIO change watches ---- */

struct ocre_gpio_watch *ocre_context_gpio_watch(struct ocre_context *context, unsigned port, unsigned pin,
                                                bool (*handler)(void *user, unsigned port, unsigned pin, int state),
                                                void *user)
{
	struct ocre_devices *d;
	struct ocre_gpio_watch *w;

	if (!context || !handler) {
		ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "context and handler are required");
		return NULL;
	}
	d = ocre_context_devices(context);
	if (pin >= ocre_context_gpio_pins(context, port)) {
		ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "no GPIO pin %u on port %u", pin, port);
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		ocre_fail(OCRE_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	w->devices = d;
	w->port = port;
	w->pin = pin;
	w->handler = handler;
	w->user = user;
	pthread_mutex_lock(&d->lock);
	w->next = d->watches;
	d->watches = w;
	pthread_mutex_unlock(&d->lock);
	return w;
}

void ocre_gpio_watch_cancel(struct ocre_gpio_watch *w)
{
	struct ocre_gpio_watch **pp;
	struct ocre_devices *d;

	if (!w)
		return;
	d = w->devices;
	pthread_mutex_lock(&d->lock);
	for (pp = &d->watches; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	pthread_mutex_unlock(&d->lock);
	free(w);
}

int ocre_context_gpio_changed(struct ocre_context *context, unsigned port, unsigned pin, int state)
{
	struct ocre_devices *d;
	struct ocre_gpio_watch *w;
	int n = 0;

	if (!context)
		return -ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "context is NULL");
	if (pin >= ocre_context_gpio_pins(context, port))
		return -ocre_fail(OCRE_ERR_INVALID_ARGUMENT, "no GPIO pin %u on port %u", pin, port);
	d = ocre_context_devices(context);
	pthread_mutex_lock(&d->lock);
	for (w = d->watches; w; w = w->next)
		if (w->port == port && w->pin == pin && w->handler(w->user, port, pin, state ? 1 : 0))
			n++;
	pthread_mutex_unlock(&d->lock);
	return n;
}
