/* SPDX-License-Identifier: MIT */
#ifndef PERSIST_EXPORT_H
#define PERSIST_EXPORT_H
/* The library builds with -fvisibility=hidden; this marks the public API. */
#if defined(__GNUC__)
#define PERSIST_EXPORT __attribute__((visibility("default")))
#else
#define PERSIST_EXPORT
#endif
#endif
