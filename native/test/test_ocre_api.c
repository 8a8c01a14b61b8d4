/* The Ocre application API (SPEC §9) from C: timers, the pull event model,
 * messaging between containers and with the host, the capability rule, the
 * release of everything a run held, and the bounded event queue. Guest side:
 * test/fixtures/src/ocre-app.c. */
#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <unistd.h>

#include "api.h"      /* ocre_api_timers_live(): the engine's running timers */
#include "internal.h" /* ocre_pool_orphans_live() */

#include "testlib.h"

static const char *caps[] = {"ocre:api", NULL};

/* Start ocre-app.wasm with @p argv (and the capability if @p granted), stdout to a pipe. */
static struct ocre_container *app(const char **argv, bool granted, int *out_fd)
{
	struct ocre_container_args args = {.argv = argv, .capabilities = granted ? caps : NULL};
	struct ocre_container *c;
	int out[2];

	test_pipe(out);
	c = ocre_context_create_container(test_context(), "ocre-app.wasm", NULL, NULL, true, &args, -1, out[1], -1);
	CHECK(c != NULL);
	CHECK_INT(ocre_container_start(c), 0);
	close(out[1]);
	*out_fd = out[0];
	return c;
}

/* Wait for the end of @p c, check its status, return its remaining output, remove it. */
static char *finish(struct ocre_container *c, int out_fd, int want_status)
{
	int status = -1;
	char *text = test_read_all(out_fd);
	close(out_fd);
	CHECK_INT(ocre_container_wait(c, &status), 0);
	CHECK_INT(status, want_status);
	CHECK_INT(ocre_context_remove_container(test_context(), c), 0);
	return text;
}

/* Run ocre-app.wasm with the capability to its end; its output. */
static char *run_app(const char **argv, int want_status)
{
	int out;
	struct ocre_container *c = app(argv, true, &out);
	return finish(c, out, want_status);
}

static void a_periodic_timer_ticks_through_the_event_loop(void)
{
	const char *argv[] = {"blink", "5", "2", NULL};
	int out;
	struct ocre_container *c = app(argv, true, &out);
	char *text = finish(c, out, 0);
	CHECK_STR(text, "tick 1\ntick 2\ntick 3\ntick 4\ntick 5\ndone\n");
	free(text);
	CHECK_INT(ocre_api_timers_live(), 0);
}

static void every_stateful_call_without_the_capability_is_a_negative_errno(void)
{
	const char *argv[] = {"nocap", NULL};
	int out;
	struct ocre_container *c = app(argv, false, &out);
	char *text = finish(c, out, 0);
	CHECK_STR(text, "ocre_uname(&u) 0\n"
	                "ocre_sleep(1) 0\n"
	                "ocre_get_event(&v, &v, &v, &v, &v, &v) -13\n"
	                "ocre_register_dispatcher(0, \"malloc\") -13\n"
	                "ocre_timer_create(1) -13\n"
	                "ocre_timer_delete(1) -13\n"
	                "ocre_timer_start(1, 10, 1) -13\n"
	                "ocre_timer_stop(1) -13\n"
	                "ocre_timer_get_remaining(1) -13\n"
	                "ocre_publish_message(\"t\", \"text/plain\", \"x\", 1) -13\n"
	                "ocre_subscribe_message(\"t\") -13\n"
	                "ocre_messaging_free_module_event_data(0, 0, 0) -13\n"
	                "ocre_sensors_init() -13\n"
	                "ocre_sensors_discover() -13\n"
	                "ocre_sensors_open(0) -13\n"
	                "ocre_sensors_get_handle(0) -13\n"
	                "ocre_sensors_get_channel_count(0) -13\n"
	                "ocre_sensors_get_channel_type(0, 0) -13\n"
	                "ocre_sensors_read(0, 0) -13\n"
	                "ocre_sensors_open_by_name(\"s\") -13\n"
	                "ocre_sensors_get_handle_by_name(\"s\") -13\n"
	                "ocre_sensors_get_channel_count_by_name(\"s\") -13\n"
	                "ocre_sensors_get_channel_type_by_name(\"s\", 0) -13\n"
	                "ocre_sensors_get_list(list, sizeof(list)) -13\n"
	                "ocre_sensors_read_by_name(\"s\", 0) -13\n"
	                "ocre_gpio_init() -13\n"
	                "ocre_gpio_configure(0, 0, 1) -13\n"
	                "ocre_gpio_pin_set(0, 0, 1) -13\n"
	                "ocre_gpio_pin_get(0, 0) -13\n"
	                "ocre_gpio_pin_toggle(0, 0) -13\n"
	                "ocre_gpio_register_callback(0, 0) -13\n"
	                "ocre_gpio_unregister_callback(0, 0) -13\n"
	                "ocre_gpio_configure_by_name(\"p\", 1) -13\n"
	                "ocre_gpio_set_by_name(\"p\", 1) -13\n"
	                "ocre_gpio_get_by_name(\"p\") -13\n"
	                "ocre_gpio_toggle_by_name(\"p\") -13\n"
	                "ocre_gpio_register_callback_by_name(\"p\") -13\n"
	                "ocre_gpio_unregister_callback_by_name(\"p\") -13\n"
	                "end\n");
	free(text);
}

static void a_publisher_reaches_a_subscriber_in_another_container(void)
{
	const char *sub_argv[] = {"sub", "news/", "3", NULL};
	const char *pub_argv[] = {"pub", "3", "news/today", NULL};
	int sub_out, pub_out;
	struct ocre_container *sub = app(sub_argv, true, &sub_out), *pub;
	char *text;

	CHECK(test_read_until(sub_out, "subscribed\n", 10000));
	pub = app(pub_argv, true, &pub_out);
	text = finish(pub, pub_out, 0);
	CHECK_STR(text, "published\n");
	free(text);
	text = finish(sub, sub_out, 0);
	CHECK_STR(text, "got news/today text/plain msg 0\ngot news/today text/plain msg 1\n"
	                "got news/today text/plain msg 2\n");
	free(text);
}

static void three_containers_are_routed_by_topic_prefix(void)
{
	const char *a_argv[] = {"sub", "sensor/", "2", NULL};
	const char *b_argv[] = {"sub", "sensor/temp", "1", NULL};
	const char *pub_argv[] = {"pub", "1", "sensor/temp/1", "sensor/hum", "other", NULL};
	int a_out, b_out, pub_out;
	struct ocre_container *a = app(a_argv, true, &a_out), *b, *pub;
	char *text;

	CHECK(test_read_until(a_out, "subscribed\n", 10000));
	b = app(b_argv, true, &b_out);
	CHECK(test_read_until(b_out, "subscribed\n", 10000));
	pub = app(pub_argv, true, &pub_out);
	text = finish(pub, pub_out, 0);
	CHECK_STR(text, "publish other -2\npublished\n"); /* nobody subscribed: -ENOENT */
	free(text);
	text = finish(a, a_out, 0);
	CHECK_STR(text, "got sensor/temp/1 text/plain msg 0\ngot sensor/hum text/plain msg 0\n");
	free(text);
	text = finish(b, b_out, 0);
	CHECK_STR(text, "got sensor/temp/1 text/plain msg 0\n");
	free(text);
}

/* ---- the host side of the bus ---- */

struct inbox {
	int count;
	char topic[64], type[64], payload[64], from[32];
};

static bool host_handler(void *user, const struct ocre_message *m)
{
	struct inbox *in = user;
	__atomic_add_fetch(&in->count, 1, __ATOMIC_SEQ_CST);
	snprintf(in->topic, sizeof(in->topic), "%s", m->topic);
	snprintf(in->type, sizeof(in->type), "%s", m->content_type);
	snprintf(in->payload, sizeof(in->payload), "%.*s", (int)m->payload_len, (const char *)m->payload);
	snprintf(in->from, sizeof(in->from), "%s", m->from ? m->from : "(host)");
	return true;
}

static void the_host_publishes_to_and_subscribes_from_containers(void)
{
	const char *argv[] = {"echo", "ping/", NULL};
	struct inbox in = {0};
	struct ocre_subscription *s;
	int out, i;
	struct ocre_container *c = app(argv, true, &out);
	char *text;

	s = ocre_context_subscribe(test_context(), "reply/", host_handler, &in);
	CHECK(s != NULL);
	CHECK(test_read_until(out, "subscribed\n", 10000));
	CHECK_INT(ocre_context_publish(test_context(), NULL, "ping/1", "text/plain", "hello", 5), 1);
	for (i = 0; i < 10000 && __atomic_load_n(&in.count, __ATOMIC_SEQ_CST) == 0; i++)
		test_sleep_ms(1); /* until the echo arrives */
	CHECK_INT(in.count, 1);
	CHECK_STR(in.topic, "reply/ping/1");
	CHECK_STR(in.type, "text/plain");
	CHECK_STR(in.payload, "hello");
	CHECK_STR(in.from, ocre_container_get_id(c));
	/* bad messages are refused before any delivery */
	CHECK_INT(ocre_context_publish(test_context(), NULL, "", "text/plain", "x", 1), -OCRE_ERR_INVALID_ARGUMENT);
	CHECK_INT(ocre_context_publish(test_context(), NULL, "ping/x", "", "x", 1), -OCRE_ERR_INVALID_ARGUMENT);
	CHECK_INT(ocre_context_publish(test_context(), NULL, "ping/x", "t", "x", 0), -OCRE_ERR_INVALID_ARGUMENT);
	CHECK_INT(ocre_context_publish(NULL, NULL, "ping/x", "t", "x", 1), -OCRE_ERR_INVALID_ARGUMENT);
	CHECK(ocre_context_subscribe(test_context(), NULL, host_handler, &in) == NULL);
	CHECK_INT(ocre_last_error(), OCRE_ERR_INVALID_ARGUMENT);
	CHECK_INT(ocre_context_publish(test_context(), NULL, "nobody/here", "t", "x", 1), 0);
	CHECK_INT(ocre_context_publish(test_context(), NULL, "ping/quit", "text/plain", "quit", 4), 1);
	text = finish(c, out, 0);
	CHECK_STR(text, "");
	free(text);
	ocre_subscription_cancel(s);
	CHECK_INT(ocre_context_publish(test_context(), NULL, "reply/x", "t", "x", 1), 0);
}

/* ---- release and bounds ---- */

static void a_kill_or_a_trap_releases_timers_and_subscriptions(void)
{
	const char *hows[] = {"sleep", "trap"};
	int k;

	for (k = 0; k < 2; k++) {
		const char *argv[] = {"hold", hows[k], NULL};
		int out;
		struct ocre_container *c = app(argv, true, &out);
		char *text;

		CHECK(test_read_until(out, "holding\n", 10000));
		if (k == 0) {
			CHECK_INT(ocre_api_timers_live(), 16);
			CHECK_INT(ocre_context_publish(test_context(), NULL, "hold/x", "t", "x", 1), 1);
			CHECK_INT(ocre_container_kill(c), 0);
		}
		text = finish(c, out, k == 0 ? OCRE_EXIT_STATUS_KILLED : OCRE_EXIT_STATUS_TRAP);
		free(text);
		CHECK_INT(ocre_api_timers_live(), 0);
		CHECK_INT(ocre_context_publish(test_context(), NULL, "hold/x", "t", "x", 1), 0);
	}
}

static void a_full_event_queue_drops_and_counts(void)
{
	const char *argv[] = {"idle", "flood/", NULL};
	int out, i, taken = 0;
	struct ocre_container *c = app(argv, true, &out);
	char *text;

	CHECK(test_read_until(out, "subscribed\n", 10000));
	for (i = 0; i < 100; i++)
		taken += ocre_context_publish(test_context(), NULL, "flood/x", "t", "x", 1);
	CHECK_INT(taken, 64);
	CHECK_INT(ocre_container_get_events_dropped(c), 36);
	CHECK_INT(ocre_container_kill(c), 0);
	text = finish(c, out, OCRE_EXIT_STATUS_KILLED);
	free(text);
	CHECK_INT(ocre_container_get_events_dropped(NULL), 0);
}

static void kill_pause_and_stop_work_in_the_event_loop(void)
{
	const char *argv[] = {"hold", "loop", NULL};
	int out, i;
	struct ocre_container *c = app(argv, true, &out);
	unsigned long long before;
	char *text;

	CHECK(test_read_until(out, "holding\n", 10000));
	/* paused: its 16 timers keep queueing until the queue is full */
	CHECK_INT(ocre_container_pause(c), 0);
	before = ocre_container_get_events_dropped(c);
	for (i = 0; i < 10000 && ocre_container_get_events_dropped(c) == before; i++)
		test_sleep_ms(1);
	CHECK(ocre_container_get_events_dropped(c) > before);
	CHECK_INT(ocre_container_get_status(c), OCRE_CONTAINER_STATUS_PAUSED);
	CHECK_INT(ocre_container_unpause(c), 0);
	/* stop: the loop does not end by itself, so the grace period runs out */
	CHECK_INT(ocre_container_stop_async(c, 50), 0);
	text = finish(c, out, OCRE_EXIT_STATUS_KILLED);
	free(text);
	CHECK_INT(ocre_api_timers_live(), 0);
}

/* ---- sensors and GPIO through providers ---- */

static void thermo_read(void *user, unsigned channel, struct ocre_device_call *call)
{
	ocre_device_call_complete(call, 0, 20.5 + channel);
}

static struct ocre_device_call *stuck_call;
static void stuck_read(void *user, unsigned channel, struct ocre_device_call *call)
{
	__atomic_store_n(&stuck_call, call, __ATOMIC_SEQ_CST); /* completed by the test, late */
}

static int pin_state[8], pin_dir[8] = {-1, -1, -1, -1, -1, -1, -1, -1}, pin_sets;
static void gpio_configure(void *user, unsigned pin, int direction, struct ocre_device_call *call)
{
	pin_dir[pin] = direction;
	ocre_device_call_complete(call, 0, 0);
}
static void gpio_set(void *user, unsigned pin, int state, struct ocre_device_call *call)
{
	if (pin_dir[pin] != 1) {
		ocre_device_call_complete(call, -EPERM, 0); /* not an output */
		return;
	}
	pin_state[pin] = state;
	pin_sets++;
	ocre_device_call_complete(call, 0, 0);
}
static void gpio_get(void *user, unsigned pin, struct ocre_device_call *call)
{
	ocre_device_call_complete(call, 0, pin_state[pin]);
}

static void providers_are_registered_and_checked(void)
{
	static const int types[] = {7, 8};
	static const char *const pins[] = {"led", "button", NULL, NULL, NULL, NULL, NULL, NULL};
	const struct ocre_sensor_provider thermo = {
	    .name = "thermo", .channels = 2, .channel_types = types, .read = thermo_read};
	const struct ocre_sensor_provider stuck = {.name = "stuck", .channels = 1, .read = stuck_read};
	const struct ocre_gpio_provider port = {.name = "gpio0",
	                                        .pins = 8,
	                                        .pin_names = pins,
	                                        .configure = gpio_configure,
	                                        .set = gpio_set,
	                                        .get = gpio_get};
	struct ocre_sensor_provider bad = thermo;
	struct ocre_gpio_provider bad_port = port;

	CHECK_INT(ocre_context_register_sensor(test_context(), &thermo), 0);
	CHECK_INT(ocre_context_register_random_sensor(test_context()), 1);
	CHECK_INT(ocre_context_register_sensor(test_context(), &stuck), 2);
	CHECK_INT(ocre_context_register_sensor(test_context(), &thermo), -OCRE_ERR_EXISTS);
	bad.name = "other";
	bad.channels = 0;
	CHECK_INT(ocre_context_register_sensor(test_context(), &bad), -OCRE_ERR_INVALID_ARGUMENT);
	bad.channels = 1;
	bad.read = NULL;
	CHECK_INT(ocre_context_register_sensor(test_context(), &bad), -OCRE_ERR_INVALID_ARGUMENT);
	CHECK_INT(ocre_context_register_sensor(NULL, &thermo), -OCRE_ERR_INVALID_ARGUMENT);
	CHECK_INT(ocre_context_register_gpio(test_context(), &port), 0);
	CHECK_INT(ocre_context_register_gpio(test_context(), &port), -OCRE_ERR_EXISTS);
	bad_port.name = "gpio1";
	bad_port.get = NULL;
	CHECK_INT(ocre_context_register_gpio(test_context(), &bad_port), -OCRE_ERR_INVALID_ARGUMENT);
	CHECK_INT(ocre_context_gpio_changed(test_context(), 0, 8, 1), -OCRE_ERR_INVALID_ARGUMENT);
	CHECK_INT(ocre_context_gpio_changed(test_context(), 5, 0, 1), -OCRE_ERR_INVALID_ARGUMENT);
}

static void sensors_are_listed_and_read(void)
{
	const char *list_argv[] = {"sensors", NULL};
	const char *read_argv[] = {"sensor-read", "thermo", "1", NULL};
	const char *random_argv[] = {"sensor-read", "ocre-random", "3", NULL};
	double v = -1;
	char name[32];
	int ch = -1;
	char *text;

	text = run_app(list_argv, 0);
	CHECK_STR(text, "sensors 3\nlist thermo,ocre-random,stuck\nthermo: 2 channels, types 7 8\n"
	                "ocre-random: 4 channels, types 0 1 2 3\nstuck: 1 channels, types 0\n");
	free(text);
	text = run_app(read_argv, 0);
	CHECK_STR(text, "thermo 1 21.50\n");
	free(text);
	text = run_app(random_argv, 0);
	CHECK_INT(sscanf(text, "%31s %d %lf", name, &ch, &v), 3);
	CHECK_STR(name, "ocre-random");
	CHECK(v >= 0 && v < 100);
	free(text);
}

static void a_container_waiting_for_a_provider_is_killable(void)
{
	const char *argv[] = {"sensor-read", "stuck", "0", NULL};
	int out, i;
	struct ocre_container *c = app(argv, true, &out);
	char *text;

	for (i = 0; i < 10000 && !__atomic_load_n(&stuck_call, __ATOMIC_SEQ_CST); i++)
		test_sleep_ms(1); /* until the read reaches the provider */
	CHECK(stuck_call != NULL);
	CHECK_INT(ocre_container_kill(c), 0);
	text = finish(c, out, OCRE_EXIT_STATUS_KILLED);
	CHECK_STR(text, "");
	free(text);
	ocre_device_call_complete(stuck_call, 0, 1.0); /* late: dropped, freed */
}

static void a_timer_blinks_a_gpio_pin(void)
{
	const char *argv[] = {"gpio-blink", "gpio0/0", "4", "2", NULL};
	char *text = run_app(argv, 0);
	CHECK_STR(text, "tick 1 state 1\ntick 2 state 0\ntick 3 state 1\ntick 4 state 0\n");
	free(text);
	CHECK_INT(pin_dir[0], 1);
	CHECK_INT(pin_sets, 5); /* the first set to 0, then 4 toggles */
}

static void gpio_changes_reach_a_registered_callback(void)
{
	const char *argv[] = {"gpio-watch", "button", "2", NULL};
	int out;
	struct ocre_container *c = app(argv, true, &out);
	char *text;

	CHECK(test_read_until(out, "watching\n", 10000));
	CHECK_INT(pin_dir[1], 0);
	CHECK_INT(ocre_context_gpio_changed(test_context(), 0, 1, 1), 1);
	CHECK_INT(ocre_context_gpio_changed(test_context(), 0, 2, 1), 0); /* nobody watches pin 2 */
	CHECK_INT(ocre_context_gpio_changed(test_context(), 0, 1, 0), 1);
	text = finish(c, out, 0);
	CHECK_STR(text, "gpio 0 1 1\ngpio 0 1 0\n");
	free(text);
	CHECK_INT(ocre_context_gpio_changed(test_context(), 0, 1, 1), 0); /* released with the run */
}

/* Hostile guest arguments: offsets and sizes outside its memory are errors
 * (-EFAULT, -EINVAL), never a host crash; a pointer WAMR itself checks
 * ('*', '$' signatures) outside memory ends the container with a trap. */
static void hostile_arguments_are_errors_or_a_trap(void)
{
	const char *argv[] = {"abuse", NULL}, *trap_argv[] = {"abuse-trap", NULL};
	int out;
	struct ocre_container *c;
	char *text = run_app(argv, 0);

	CHECK_STR(text, "ocre_get_event(bad, &v, &v, &v, &v, &v) -14\n"
	                "ocre_get_event(&v, &v, &v, &v, &v, bad) -14\n"
	                "ocre_publish_message(\"t\", \"text/plain\", end_of_memory, 4000) -14\n"
	                "ocre_publish_message(\"t\", \"text/plain\", \"x\", -1) -22\n"
	                "ocre_subscribe_message(end_of_memory) -22\n"
	                "ocre_sensors_get_list(small, 1 << 30) -22\n"
	                "ocre_sensors_get_list(small, 0) -22\n"
	                "ocre_timer_start(1, 10, 1) -22\n"
	                "ocre_timer_create(-5) -22\n"
	                "ocre_gpio_pin_set(-1, -1, 1) -19\n"
	                "ocre_register_dispatcher(0, \"\") -22\n"
	                "end\n");
	free(text);
	c = app(trap_argv, true, &out);
	text = finish(c, out, OCRE_EXIT_STATUS_TRAP);
	CHECK_STR(text, "");
	free(text);
	CHECK_INT(ocre_api_timers_live(), 0);
}

/* A provider whose read never returns until the test lets it (a hung
 * driver): no kill can end the run. Destroying its context then ends after
 * CONFIG_OCRE_DESTROY_TIMEOUT_MS with OCRE_ERR_TIMEOUT instead of hanging,
 * and the run's thread, once the provider returns, ends by itself and frees
 * what the context still held (ASan: no use after free, no leak). */
static sem_t hang_entered, hang_release;
static void hang_read(void *user, unsigned channel, struct ocre_device_call *call)
{
	sem_post(&hang_entered);
	while (sem_wait(&hang_release) != 0)
		;
	ocre_device_call_complete(call, 0, 1.0);
}

static void destroy_is_bounded_by_a_run_that_ignores_its_kill(void)
{
	const struct ocre_sensor_provider hang = {.name = "hang", .channels = 1, .read = hang_read};
	const char *argv[] = {"sensor-read", "hang", "0", NULL};
	struct ocre_container_args args = {.argv = argv, .capabilities = caps};
	const char *dir = test_tmpdir("destroy-bound");
	char cmd[3000];
	struct ocre_context *ctx2;
	struct ocre_container *c;
	uint64_t t0;

	sem_init(&hang_entered, 0, 0);
	sem_init(&hang_release, 0, 0);
	ctx2 = ocre_create_context(dir);
	CHECK(ctx2 != NULL);
	if (!ctx2)
		return;
	snprintf(cmd, sizeof(cmd), "cp '%s/ocre-app.wasm' '%s/images/'", test_images_dir(), dir);
	CHECK_INT(system(cmd), 0);
	CHECK_INT(ocre_context_register_sensor(ctx2, &hang), 0);
	c = ocre_context_create_container(ctx2, "ocre-app.wasm", NULL, NULL, true, &args, OCRE_STDIO_IGNORE,
	                                  OCRE_STDIO_IGNORE, OCRE_STDIO_IGNORE);
	CHECK(c != NULL);
	CHECK_INT(ocre_container_start(c), 0);
	while (sem_wait(&hang_entered) != 0)
		;
	t0 = test_now_us();
	CHECK_INT(ocre_destroy_context(ctx2), OCRE_ERR_TIMEOUT);
	fprintf(stderr, "     destroy with a hung run returned after %.0f ms\n", (double)(test_now_us() - t0) / 1000.0);
	CHECK(strstr(ocre_last_error_message(), "did not end within") != NULL);
	/* the workdir is free again at once */
	ctx2 = ocre_create_context(dir);
	CHECK(ctx2 != NULL);
	CHECK_INT(ocre_pool_orphans_live(), 1);
	sem_post(&hang_release); /* the orphaned run ends now, and frees the old context */
	if (ctx2)
		CHECK_INT(ocre_destroy_context(ctx2), 0);
	/* It calls no provider again (it was killed) and ends by itself: wait
	 * for that (bounded) so that the leak check sees everything freed. */
	for (t0 = test_now_us(); ocre_pool_orphans_live() > 0 && test_now_us() - t0 < 30000000u;)
		usleep(1000);
	CHECK_INT(ocre_pool_orphans_live(), 0);
}

int main(void)
{
	test_setup();
	RUN(a_periodic_timer_ticks_through_the_event_loop);
	RUN(every_stateful_call_without_the_capability_is_a_negative_errno);
	RUN(a_publisher_reaches_a_subscriber_in_another_container);
	RUN(three_containers_are_routed_by_topic_prefix);
	RUN(the_host_publishes_to_and_subscribes_from_containers);
	RUN(a_kill_or_a_trap_releases_timers_and_subscriptions);
	RUN(a_full_event_queue_drops_and_counts);
	RUN(kill_pause_and_stop_work_in_the_event_loop);
	RUN(hostile_arguments_are_errors_or_a_trap);
	RUN(providers_are_registered_and_checked);
	RUN(sensors_are_listed_and_read);
	RUN(a_container_waiting_for_a_provider_is_killable);
	RUN(destroy_is_bounded_by_a_run_that_ignores_its_kill);
	RUN(a_timer_blinks_a_gpio_pin);
	RUN(gpio_changes_reach_a_registered_callback);
	test_teardown();
	return test_finish();
}
