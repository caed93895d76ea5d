/* Test runner: `gad_tests` runs every suite; `gad_tests NAME...` runs the
 * suites registered by tests/test_NAME.c. Exits non-zero on any failure. */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "test_registry.h"

int main(int argc, char **argv) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    int registered = 0;
    for (int i = 0; gad_test_registry[i].name; i++) {
        int want = argc < 2;
        for (int a = 1; a < argc; a++)
            if (!strcmp(argv[a], gad_test_registry[i].name)) want = 1;
        if (want) {
            gad_test_registry[i].fn();
            registered++;
        }
    }
    if (!registered) {
        fprintf(stderr, "gad_tests: no suite matches the names given\n");
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return (failed || run == 0) ? 1 : 0;
}
