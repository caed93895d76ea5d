/* Localisation against ground-truth object masks. */
#include <math.h>

#include "gad/eval.h"

double gad_pointing_game(const float *map, const uint8_t *gt, size_t n) {
    size_t best = n;
    for (size_t i = 0; i < n; i++)
        if (!isnan(map[i]) && (best == n || map[i] > map[best])) best = i;
    return best < n && gt[best] ? 1.0 : 0.0;
}

double gad_mass_in_mask(const float *map, const uint8_t *gt, size_t n) {
    double in = 0.0, all = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!(map[i] > 0)) continue;
        all += map[i];
        if (gt[i]) in += map[i];
    }
    return all > 0 ? in / all : 0.0;
}
