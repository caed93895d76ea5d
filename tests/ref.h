/* Reader for the reference-tensor files written by tools/gadref.py. */
#ifndef GAD_TEST_REF_H
#define GAD_TEST_REF_H

#include <stddef.h>
#include <stdint.h>

typedef struct gad_ref_tensor {
    char name[256];
    int nd;
    int64_t dims[8];
    size_t count;
    float *data;
} gad_ref_tensor;

typedef struct gad_ref_file {
    int n;
    gad_ref_tensor *t;
} gad_ref_file;

/* 0 on success; prints the problem and returns -1 otherwise. */
int gad_ref_load(const char *path, gad_ref_file *r);
void gad_ref_free(gad_ref_file *r);
/* Tensor by exact name, or NULL. */
const gad_ref_tensor *gad_ref_find(const gad_ref_file *r, const char *name);

#endif
