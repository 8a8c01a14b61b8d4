/**
 * @file devices.h
 * @brief Host-provided sensors and GPIO for the Ocre application API
 *        (ocre-node addition).
 *
 * The embedding application registers providers on a context; containers of
 * that context with the `ocre:api` capability reach them through the Ocre
 * sensor and GPIO calls. Without a provider those calls return a negative
 * errno. Providers stay registered for the context's lifetime.
 *
 * Provider operations are asynchronous-capable: each gets a call object and
 * must complete it exactly once with ocre_device_call_complete(), from any
 * thread, before or after returning (a C driver completes at once; a bridge
 * to another event loop completes later). The container waits for the
 * completion, but a kill ends the wait at once: completing an abandoned call
 * is harmless.
 */
#ifndef OCRE_DEVICES_H
#define OCRE_DEVICES_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ocre_context;
struct ocre_device_call;

#define OCRE_DEVICE_NAME_MAX 63     /**< longest sensor, GPIO port or pin name, bytes */
#define OCRE_SENSORS_MAX 16         /**< sensors per context */
#define OCRE_SENSOR_CHANNELS_MAX 16 /**< channels per sensor */
#define OCRE_GPIO_PORTS_MAX 16      /**< GPIO providers (ports) per context */
#define OCRE_GPIO_PINS_MAX 64       /**< pins per port */

/**
 * Complete @p call: @p result is 0 (with @p value: a sensor reading, a pin
 * state) or a negative errno. Exactly once per call.
 */
void ocre_device_call_complete(struct ocre_device_call *call, int result, double value);

/** A sensor. Copied at registration (name and channel types too). */
struct ocre_sensor_provider {
	const char *name;         /**< unique in the context, 1..OCRE_DEVICE_NAME_MAX bytes */
	unsigned channels;        /**< 1..OCRE_SENSOR_CHANNELS_MAX */
	const int *channel_types; /**< @p channels values (the guest's channel type codes), or NULL (all 0) */
	/** Read @p channel (< channels); complete @p call with the value. */
	void (*read)(void *user, unsigned channel, struct ocre_device_call *call);
	void *user; /**< passed to read; must live as long as the context */
};

/** A GPIO port. Copied at registration (names too). */
struct ocre_gpio_provider {
	const char *name;             /**< unique port name, 1..OCRE_DEVICE_NAME_MAX bytes */
	unsigned pins;                /**< 1..OCRE_GPIO_PINS_MAX */
	const char *const *pin_names; /**< @p pins names for the *_by_name calls (NULL entries: unnamed), or NULL */
	/** Direction of a pin: 0 input, 1 output. Complete with 0 or a negative errno. */
	void (*configure)(void *user, unsigned pin, int direction, struct ocre_device_call *call);
	/** Drive an output pin to @p state (0/1). */
	void (*set)(void *user, unsigned pin, int state, struct ocre_device_call *call);
	/** Read a pin: complete with value 0 or 1. */
	void (*get)(void *user, unsigned pin, struct ocre_device_call *call);
	void *user; /**< passed to the callbacks; must live as long as the context */
};

/**
 * Register a sensor. Its index (the guest's sensor handle) is the
 * registration order, from 0.
 * @return the index, or a negative ocre_err_t with the last error set
 *         (-OCRE_ERR_INVALID_ARGUMENT, -OCRE_ERR_EXISTS for a taken name,
 *         -OCRE_ERR_NO_MEMORY; -OCRE_ERR_UNSUPPORTED beyond OCRE_SENSORS_MAX).
 */
int ocre_context_register_sensor(struct ocre_context *context, const struct ocre_sensor_provider *provider);

/**
 * Register the built-in test sensor "ocre-random": 4 channels of
 * pseudo-random values in [0, 100) (types 0..3), for trying apps without
 * hardware. Same returns as ocre_context_register_sensor().
 */
int ocre_context_register_random_sensor(struct ocre_context *context);

/**
 * Register a GPIO port. Its number (the guest's port) is the registration
 * order, from 0. Same returns as ocre_context_register_sensor().
 */
int ocre_context_register_gpio(struct ocre_context *context, const struct ocre_gpio_provider *provider);

/**
 * Report that input @p pin of @p port now reads @p state: containers that
 * registered a callback for it get a GPIO event. Any thread; never blocks.
 * @return the number of containers notified, or a negative ocre_err_t.
 */
int ocre_context_gpio_changed(struct ocre_context *context, unsigned port, unsigned pin, int state);

/* ---- for engines ---- */

/** What a provider lookup gives an engine (views valid for the context's lifetime). */
struct ocre_sensor_info {
	const char *name;
	unsigned channels;
	const int *channel_types; /**< never NULL */
};

/** Number of sensors of @p context. */
int ocre_context_sensor_count(struct ocre_context *context);
/** Sensor @p index, or false. */
bool ocre_context_sensor_info(struct ocre_context *context, int index, struct ocre_sensor_info *info);
/** Index of the sensor named @p name, or -1. */
int ocre_context_sensor_find(struct ocre_context *context, const char *name);
/** Number of GPIO ports, and the pin count of @p port (0 if none). */
int ocre_context_gpio_port_count(struct ocre_context *context);
unsigned ocre_context_gpio_pins(struct ocre_context *context, unsigned port);
/** Port and pin of the pin named @p name (a pin name, or "PORT/PIN" with a port name and a number). */
bool ocre_context_gpio_find(struct ocre_context *context, const char *name, unsigned *port, unsigned *pin);

/** Operations an engine starts; each returns a call to wait on (see below). */
enum ocre_device_op { OCRE_DEVICE_SENSOR_READ, OCRE_DEVICE_GPIO_CONFIGURE, OCRE_DEVICE_GPIO_SET, OCRE_DEVICE_GPIO_GET };

/**
 * Start an operation on a provider (@p unit: sensor index or GPIO port;
 * @p channel: sensor channel or pin; @p arg: direction or state). @p wake is
 * called (from any thread, possibly before this returns) when the call
 * completes, unless the call was released first.
 * @return the call (release it with ocre_device_call_release()), or NULL
 *         with *error set to a negative errno (-ENODEV, -EINVAL, -ENOMEM).
 */
struct ocre_device_call *ocre_device_call_start(struct ocre_context *context, enum ocre_device_op op, unsigned unit,
                                                unsigned channel, int arg, void (*wake)(void *), void *wake_arg,
                                                int *error);
/** Completed yet? If so, its result and value. Never blocks (no lock). */
bool ocre_device_call_done(struct ocre_device_call *call, int *result, double *value);
/** Drop the caller's reference: @p wake is never called after this returns. */
void ocre_device_call_release(struct ocre_device_call *call);

/**
 * Watch a GPIO pin: @p handler runs (on the reporting thread, under the
 * watch list lock: copy and return) for each ocre_context_gpio_changed() of
 * it. NULL with the last error set on failure.
 */
struct ocre_gpio_watch;
struct ocre_gpio_watch *ocre_context_gpio_watch(struct ocre_context *context, unsigned port, unsigned pin,
                                                bool (*handler)(void *user, unsigned port, unsigned pin, int state),
                                                void *user);
/** End a watch; its handler is not running and never runs after this returns. NULL is ignored. */
void ocre_gpio_watch_cancel(struct ocre_gpio_watch *watch);

#ifdef __cplusplus
}
#endif
#endif
