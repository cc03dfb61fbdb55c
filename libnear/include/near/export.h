/* SPDX-License-Identifier: MIT */
#ifndef NEAR_EXPORT_H
#define NEAR_EXPORT_H
/* The libraries build with -fvisibility=hidden; this marks the public API. */
#if defined(__GNUC__)
#define NEAR_EXPORT __attribute__((visibility("default")))
#else
#define NEAR_EXPORT
#endif
#endif
