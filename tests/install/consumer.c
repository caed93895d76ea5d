/* Built against an installed gad (pkg-config gad) by tools/run-tests.sh to
 * prove the install is usable: loads a model and prints its class count. */
#include <stdio.h>

#include <gad/gad.h>

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    gad_model *m;
    gad_err e;
    if (gad_model_load(argv[1], &m, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    printf("gad %s: %d classes\n", gad_version(), gad_model_num_classes(m));
    gad_model_free(m);
    return 0;
}
