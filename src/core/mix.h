/* mix.h — the counter-based randomness every module shares: splitmix64's
 * finaliser turns (seed, counter) pairs into independent 64-bit values, so
 * a draw never depends on which thread or batch made it; FNV-1a keys a
 * stream by the bytes of an image. Internal; static inline. */
#ifndef GAD_CORE_MIX_H
#define GAD_CORE_MIX_H

#include <stddef.h>
#include <stdint.h>

#define GAD_GOLDEN64 0x9e3779b97f4a7c15ULL

static inline uint64_t gad_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* FNV-1a over n bytes, starting from h (the FNV offset basis, or a seed). */
static inline uint64_t gad_hash_bytes(uint64_t h, const void *data, size_t n) {
    const unsigned char *b = (const unsigned char *)data;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

#define GAD_FNV_OFFSET 0xcbf29ce484222325ULL

#endif
