/**
 * @file ocre.h
 * @brief Everything: library, contexts, containers, errors, engines, logging.
 * Source-compatible with Project Ocre's <ocre/ocre.h>.
 */
#ifndef OCRE_OCRE_H
#define OCRE_OCRE_H

#include <ocre/error.h>
#include <ocre/library.h>
#include <ocre/context.h>
#include <ocre/container.h>
#include <ocre/runtime/vtable.h>
#include <ocre/runtime/wamr.h>
#include <ocre/platform/log.h>
#include <ocre/messaging.h>
#include <ocre/devices.h>
#include <ocre/common.h>

#endif
