/* 8-connected regions by union-find in one raster pass. Linking the larger
 * root under the smaller keeps parent[i] <= i, so a second raster pass can
 * overwrite the parent slots with labels in place: by the time pixel i is
 * reached its parent has already been turned into a (negated) label. */
#include <limits.h>
#include <stdlib.h>

#include "gad/gad.h"
#include "gad/eval.h"

static int find(int *parent, int i) {
    while (parent[i] != i) {
        parent[i] = parent[parent[i]]; /* path halving */
        i = parent[i];
    }
    return i;
}

static void unite(int *parent, int a, int b) {
    a = find(parent, a);
    b = find(parent, b);
    if (a < b) parent[b] = a;
    else if (b < a) parent[a] = b;
}

int gad_count_regions(const uint8_t *mask, int h, int w, int *labels) {
    if (!mask || h <= 0 || w <= 0) return GAD_EINVAL;
    if ((int64_t)h * w > INT_MAX) return GAD_ELIMIT;
    int n = h * w;
    int *parent = labels ? labels : malloc(sizeof *parent * (size_t)n);
    if (!parent) return GAD_ENOMEM;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            int i = y * w + x;
            if (!mask[i]) {
                parent[i] = -1;
                continue;
            }
            parent[i] = i;
            /* Already visited neighbours: west, north-west, north, north-east. */
            if (x > 0 && mask[i - 1]) unite(parent, i, i - 1);
            if (y > 0) {
                int up = i - w;
                if (x > 0 && mask[up - 1]) unite(parent, i, up - 1);
                if (mask[up]) unite(parent, i, up);
                if (x + 1 < w && mask[up + 1]) unite(parent, i, up + 1);
            }
        }
    }
    /* Background stays -1 until the end; regions become -(label) with
     * label >= 1, which no pixel index can be confused with. */
    int count = 0;
    for (int i = 0; i < n; i++) {
        if (parent[i] < 0) continue;
        if (parent[i] == i) parent[i] = -(++count) - 1;
        else parent[i] = parent[parent[i]];
    }
    if (labels)
        for (int i = 0; i < n; i++) labels[i] = labels[i] == -1 ? 0 : -labels[i] - 1;
    else free(parent);
    return count;
}
