/* The Ocre application API (SPEC §9): what its host-function files share.
 *
 * A container with the `ocre:api` capability gets a struct ocre_api for each
 * run (made before instantiation, so start sections can use it; freed when
 * the run ends, however it ends): its event queue, timers, subscriptions and
 * GPIO callbacks. Events are pulled by the guest with ocre_get_event().
 *
 * Locks: the timer service lock and a bus lock may be held while an event is
 * posted (api->lock is taken last); nothing here takes the container lock
 * while holding api->lock. */
#ifndef OCRE_WAMR_API_H
#define OCRE_WAMR_API_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wasm_export.h"

#include <ocre/devices.h>
#include <ocre/messaging.h>

struct wamr_container;

/* Per-container limits, at least the Ocre SDK's. */
#define OCRE_API_TIMERS 16         /* timer ids 1..16 */
#define OCRE_API_SUBSCRIPTIONS 16  /* topic prefixes per container */
#define OCRE_API_GPIO_CALLBACKS 16 /* watched GPIO pins per container */
#define OCRE_API_GUEST_PAYLOAD_MAX 4096
#ifndef CONFIG_OCRE_API_EVENT_QUEUE
#define CONFIG_OCRE_API_EVENT_QUEUE 64 /* events waiting per container; more are dropped and counted */
#endif

/* Resource types of events (Ocre's numbering). */
enum ocre_api_resource {
	OCRE_API_RESOURCE_TIMER = 0,
	OCRE_API_RESOURCE_GPIO = 1,
	OCRE_API_RESOURCE_SENSOR = 2,
	OCRE_API_RESOURCE_MESSAGE = 3,
	OCRE_API_RESOURCE__COUNT
};

/* A delivered message, host-side copy: topic and content type NUL-terminated,
 * all in one allocation. Copied into the guest's heap when pulled. */
struct ocre_api_message {
	char *topic;
	char *content_type;
	uint8_t *payload;
	uint32_t payload_len;
};

struct ocre_api_event {
	uint32_t type;                    /* enum ocre_api_resource */
	uint32_t id;                      /* timer id, GPIO pin */
	uint32_t port;                    /* GPIO port */
	uint32_t state;                   /* GPIO state */
	struct ocre_api_message *message; /* message events; owned by the queue */
};

struct ocre_api_timer; /* api_timers.c */

/* A block of the guest's heap holding a delivered message (api_events.c). */
struct ocre_api_block {
	uint32_t offset, size;
};
#define OCRE_API_LENT 16  /* deliveries the guest holds that can be taken back for reuse */
#define OCRE_API_SPARE 8  /* blocks handed back, kept for the next deliveries */
#define OCRE_API_BLOCK 64 /* block sizes are multiples of this */

struct ocre_api {
	struct wamr_container *wc;
	struct ocre_context *context; /* messaging and devices; NULL outside a context */
	pthread_mutex_t lock;         /* the queue and the subscription list */
	struct ocre_api_event queue[CONFIG_OCRE_API_EVENT_QUEUE];
	unsigned head, count;
	uint32_t next_message_id;
	struct ocre_subscription *subs[OCRE_API_SUBSCRIPTIONS];
	unsigned nsubs;
	struct ocre_api_timer *timers;                            /* OCRE_API_TIMERS of them (api_timers.c) */
	struct ocre_gpio_watch *watches[OCRE_API_GPIO_CALLBACKS]; /* api_gpio.c; changed by the container thread only */
	unsigned watch_port[OCRE_API_GPIO_CALLBACKS], watch_pin[OCRE_API_GPIO_CALLBACKS];
	unsigned nwatches;
	wasm_function_inst_t malloc_fn, free_fn; /* the guest's exports, looked up once */
	bool exports_looked_up;
	/* message blocks (container thread only): lent to the guest, and spare */
	struct ocre_api_block lent[OCRE_API_LENT], spare[OCRE_API_SPARE];
	unsigned nlent, nspare;
};

/* api_events.c: the per-run state and the queue */
struct ocre_api *ocre_api_new(struct wamr_container *wc, struct ocre_context *context);
/* Release everything the run held (timers, subscriptions, queued events). */
void ocre_api_free(struct ocre_api *api);
/* Queue @p event (its message is owned by the queue from here on). false
 * when the queue is full: the event is dropped and counted. */
bool ocre_api_post(struct ocre_api *api, const struct ocre_api_event *event);
/* The calling container's state, or NULL with *err set to the negative errno
 * to return (-EACCES without the capability). Parks while paused; after a
 * kill sets the killed exception and returns NULL with *err = -EINTR. */
struct ocre_api *ocre_api_enter(wasm_exec_env_t exec_env, int *err);
/* Whether @p size bytes at guest offset @p offset (or native address @p p)
 * lie inside the guest's memory. Unlike WAMR's validate_* functions these
 * set no exception: the caller returns an errno instead of trapping. */
bool ocre_api_app_range(wasm_module_inst_t inst, uint32_t offset, uint32_t size);
bool ocre_api_native_range(wasm_module_inst_t inst, const void *p, uint32_t size);
/* The guest's malloc/free exports (NULL if it has none). */
bool ocre_api_guest_exports(struct ocre_api *api, wasm_exec_env_t exec_env);
uint32_t ocre_api_guest_malloc(struct ocre_api *api, wasm_exec_env_t exec_env, uint32_t size);
void ocre_api_guest_free(struct ocre_api *api, wasm_exec_env_t exec_env, uint32_t offset);
bool ocre_api_events_register(void);
/* The guest hands back the message block at @p offset (its layout checked by
 * the caller): true when it is kept for reuse (the caller must not free it),
 * false when the caller frees it. */
bool ocre_api_block_return(struct ocre_api *api, uint32_t offset);

/* api_timers.c */
bool ocre_api_timers_init(struct ocre_api *api);
void ocre_api_timers_release(struct ocre_api *api);
bool ocre_api_timers_start(void);    /* start the timer thread (engine init) */
void ocre_api_timers_shutdown(void); /* end the timer thread (engine deinit) */
unsigned ocre_api_timers_live(void); /* running timers, every container (tests) */
bool ocre_api_timers_register(void);

/* api_messaging.c */
void ocre_api_messaging_release(struct ocre_api *api);
void ocre_api_message_free(struct ocre_api_message *message);
bool ocre_api_messaging_register(void);

/* api_devices.c: run a provider operation, waiting (kill-aware) for it.
 * 0 with *value, or a negative errno (-EINTR after a kill, with the killed
 * exception set). */
int ocre_api_device_call(struct ocre_api *api, wasm_exec_env_t exec_env, enum ocre_device_op op, unsigned unit,
                         unsigned channel, int arg, double *value);
/* A string argument ('$': validated by WAMR) of 1..OCRE_DEVICE_NAME_MAX bytes? */
bool ocre_api_valid_name(const char *name);

/* api_sensors.c, api_gpio.c */
bool ocre_api_sensors_register(void);
void ocre_api_gpio_release(struct ocre_api *api);
bool ocre_api_gpio_register(void);

/* ocre_api.c: registers every group above */
bool ocre_api_register(void);

#endif
