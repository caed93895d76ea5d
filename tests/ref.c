#include "ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

void gad_ref_free(gad_ref_file *r) {
    for (int i = 0; r->t && i < r->n; i++) free(r->t[i].data);
    free(r->t);
    r->t = NULL;
    r->n = 0;
}

static int take(const unsigned char *buf, size_t size, size_t *pos, void *dst, size_t n) {
    if (n > size - *pos) return -1;
    memcpy(dst, buf + *pos, n);
    *pos += n;
    return 0;
}

/* The file is little-endian, as every host gad targets. */
int gad_ref_load(const char *path, gad_ref_file *r) {
    memset(r, 0, sizeof *r);
    size_t size = 0, pos = 0;
    unsigned char *buf = gad_test_read_file(path, &size);
    if (!buf) {
        fprintf(stderr, "\n  %s: cannot read\n", path);
        return -1;
    }
    char magic[8];
    uint32_t n;
    int ok = !take(buf, size, &pos, magic, 8) && !memcmp(magic, "GADREF1", 8) &&
             !take(buf, size, &pos, &n, 4) && n < 100000 && (r->t = calloc(n ? n : 1, sizeof *r->t));
    for (uint32_t i = 0; ok && i < n; i++) {
        gad_ref_tensor *t = &r->t[i];
        uint32_t len, nd;
        ok = !take(buf, size, &pos, &len, 4) && len < sizeof t->name && !take(buf, size, &pos, t->name, len) &&
             !take(buf, size, &pos, &nd, 4) && nd <= 8 && !take(buf, size, &pos, t->dims, 8 * (size_t)nd);
        if (!ok) break;
        t->nd = (int)nd;
        t->count = 1;
        for (uint32_t d = 0; d < nd; d++) t->count *= (size_t)t->dims[d];
        ok = t->count < ((size_t)1 << 28) && (t->data = malloc(t->count * 4 + 1)) &&
             !take(buf, size, &pos, t->data, t->count * 4);
        r->n = (int)i + 1;
    }
    free(buf);
    if (!ok || pos != size) {
        fprintf(stderr, "\n  %s: malformed reference file\n", path);
        gad_ref_free(r);
        return -1;
    }
    return 0;
}

const gad_ref_tensor *gad_ref_find(const gad_ref_file *r, const char *name) {
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->t[i].name, name)) return &r->t[i];
    return NULL;
}
