/* Status codes: one table gives codes and messages. */
#include <string.h>

#include "gad/gad.h"
#include "harness.h"

static void test_strerror(void) {
    CU_ASSERT_STRING_EQUAL(gad_strerror(GAD_OK), "success");
    CU_ASSERT_STRING_EQUAL(gad_strerror(GAD_EFORMAT), "malformed file");
    CU_ASSERT_STRING_EQUAL(gad_strerror(12345), "unknown error");
}

static void test_err_set(void) {
    gad_err e;
    CU_ASSERT_EQUAL(gad_err_set(&e, GAD_EIO, "%s: cannot read (%d)", "a.png", 7), GAD_EIO);
    CU_ASSERT_EQUAL(e.code, GAD_EIO);
    CU_ASSERT_STRING_EQUAL(e.msg, "a.png: cannot read (7)");
    CU_ASSERT_EQUAL(gad_err_set(NULL, GAD_ENOMEM, "x"), GAD_ENOMEM);
    /* long messages are cut, never overflow */
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    gad_err_set(&e, GAD_EINVAL, "%s", big);
    CU_ASSERT_EQUAL(strlen(e.msg), sizeof e.msg - 1);
}

void gad_test_register_err(void) {
    static const gad_test_case t[] = {{"strerror", test_strerror}, {"err_set", test_err_set}, {0, 0}};
    gad_test_add_suite("err", t);
}
