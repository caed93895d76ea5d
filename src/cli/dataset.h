/* dataset.h — labelled image sets for `gad fit` (ImageFolder or CSV). */
#ifndef GAD_CLI_DATASET_H
#define GAD_CLI_DATASET_H

#include "gad/gad.h"

typedef struct gad_dataset {
    int n;
    char **paths;
    int *labels;
    int n_names;  /* class names: from --labels, else the sorted folder names */
    char **names;
} gad_dataset;

/* dir: DIR/CLASS/IMAGE; csv: lines `path,label` (index or name); labels:
 * optional class-name file. Either or both of dir and csv. */
int gad_dataset_open(gad_dataset *ds, const char *dir, const char *csv, const char *labels, gad_err *err);
void gad_dataset_free(gad_dataset *ds);
/* Class index of a name (or of a decimal index); -1 if unknown. */
int gad_dataset_class(const gad_dataset *ds, const char *name);

#endif
