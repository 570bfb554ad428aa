// What the Swift SDK's hot path needs from C that Swift itself lacks on
// every platform it supports: atomics on memory Swift owns (the per-thread
// buffers' and spans' state words, the default tracer; Swift's
// Synchronization module needs macOS 15) and the monotonic clock read
// without Foundation.
// Header-only: each is inlined into the Swift code that calls it.
#ifndef AGTRACE_SWIFT_H
#define AGTRACE_SWIFT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

static inline uint32_t agtrace_swift_load(uint32_t *word) {
    return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

static inline void agtrace_swift_store(uint32_t *word, uint32_t value) {
    __atomic_store_n(word, value, __ATOMIC_RELEASE);
}

/// Sets `*word` to `desired` if it holds `expected`; true when it did.
/// Acquire on success, so what the previous holder released is visible.
static inline bool agtrace_swift_cas(uint32_t *word, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(word, &expected, desired, false, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}

static inline void *agtrace_swift_load_ptr(void **cell) {
    return __atomic_load_n(cell, __ATOMIC_ACQUIRE);
}

static inline void agtrace_swift_store_ptr(void **cell, void *value) {
    __atomic_store_n(cell, value, __ATOMIC_RELEASE);
}

/// Nanoseconds on the monotonic clock (span durations and event offsets).
static inline uint64_t agtrace_swift_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
