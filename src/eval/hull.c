/* Convex hull area of a mask. Only the leftmost and rightmost selected pixel
 * of each row can be hull vertices (everything between them lies on the
 * segment joining them), so the hull is built from at most 2h points. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "gad/eval.h"

typedef struct {
    int64_t x, y;
} pt;

/* Twice the signed area of (o, a, b); exact since coordinates are < 2^30. */
static int64_t cross(pt o, pt a, pt b) {
    return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

double gad_hull_area(const uint8_t *mask, int h, int w) {
    if (!mask || h <= 0 || w <= 0 || h >= (1 << 30) || w >= (1 << 30)) return 0.0;
    pt *p = malloc(sizeof *p * (size_t)h * 2);
    pt *hull = malloc(sizeof *hull * ((size_t)h * 4 + 1));
    if (!p || !hull) {
        free(p);
        free(hull);
        return NAN;
    }
    /* Rows in order, left before right: already sorted by (y, x), the order
     * the monotone chain needs (it works along either axis). The half-pixel
     * offset of the centres cancels out of every difference. */
    size_t m = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = mask + (size_t)y * (size_t)w;
        int l = 0, r = w - 1;
        while (l < w && !row[l]) l++;
        if (l == w) continue;
        while (!row[r]) r--;
        p[m++] = (pt){l, y};
        if (r != l) p[m++] = (pt){r, y};
    }
    double area = 0.0;
    if (m >= 3) {
        size_t k = 0;
        for (size_t i = 0; i < m; i++) {
            while (k >= 2 && cross(hull[k - 2], hull[k - 1], p[i]) <= 0) k--;
            hull[k++] = p[i];
        }
        for (size_t i = m - 1, lo = k + 1; i-- > 0;) {
            while (k >= lo && cross(hull[k - 2], hull[k - 1], p[i]) <= 0) k--;
            hull[k++] = p[i];
        }
        k--; /* the first point closes the chain */
        if (k >= 3) {
            /* A fan from one vertex: every term is a triangle inside the
             * hull, so partial sums stay below 2 h w and cannot overflow. */
            int64_t twice = 0;
            for (size_t i = 1; i + 1 < k; i++) twice += cross(hull[0], hull[i], hull[i + 1]);
            if (twice < 0) twice = -twice;
            area = (double)twice / 2.0 / ((double)h * (double)w);
        }
    }
    free(p);
    free(hull);
    return area;
}
