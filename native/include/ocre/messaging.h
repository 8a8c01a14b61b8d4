/**
 * @file messaging.h
 * @brief Topic messaging between containers and the host (ocre-node addition).
 *
 * Each context has one message bus. A subscription receives every message whose
 * topic starts with its prefix (Ocre's rule; the publisher is not excluded).
 * Containers with the `ocre:api` capability publish and subscribe through the
 * Ocre application API; the host uses these functions. Handlers run on the
 * publisher's thread and must only copy the message and return: they must
 * not block, and must not call any function of this header.
 */
#ifndef OCRE_MESSAGING_H
#define OCRE_MESSAGING_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ocre_context;
struct ocre_subscription;

/** Limits (at least the Ocre SDK's). Lengths exclude the terminating NUL. */
#define OCRE_MESSAGE_TOPIC_MAX 128     /**< longest topic or prefix, bytes */
#define OCRE_MESSAGE_TYPE_MAX 128      /**< longest content type, bytes */
#define OCRE_MESSAGE_PAYLOAD_MAX 65536 /**< largest payload, bytes */

/** One message, valid only during the handler call. */
struct ocre_message {
	const char *topic;        /**< NUL-terminated, non-empty */
	const char *content_type; /**< NUL-terminated, non-empty */
	const void *payload;      /**< payload_len bytes */
	size_t payload_len;       /**< at least 1 */
	const char *from;         /**< publishing container's id, or NULL for the host */
};

/**
 * Receives a matching message. Return true when the message was taken (queued
 * or handled), false when it was dropped (e.g. the receiver's queue is full):
 * only taken deliveries count for the publisher.
 */
typedef bool (*ocre_message_handler_t)(void *user, const struct ocre_message *message);

/**
 * Subscribe to every topic that starts with @p prefix (copied).
 * @return the subscription, or NULL with the last error set (bad arguments,
 *         prefix longer than OCRE_MESSAGE_TOPIC_MAX, no memory).
 */
struct ocre_subscription *ocre_context_subscribe(struct ocre_context *context, const char *prefix,
                                                 ocre_message_handler_t handler, void *user);

/**
 * End a subscription. Once this returns, its handler is not running and is
 * never called again. NULL is ignored. Must be called before the context is
 * destroyed.
 */
void ocre_subscription_cancel(struct ocre_subscription *subscription);

/**
 * Deliver a message (copied by each handler) to every matching subscription.
 * @param from  the publishing container's id, or NULL for the host
 * @return the number of subscriptions that took it (0: nobody did), or a
 *         negative ocre_err_t (-OCRE_ERR_INVALID_ARGUMENT for an empty or
 *         too long topic or content type, an empty or too large payload)
 *         with the last error set.
 */
int ocre_context_publish(struct ocre_context *context, const char *from, const char *topic, const char *content_type,
                         const void *payload, size_t payload_len);

#ifdef __cplusplus
}
#endif
#endif
