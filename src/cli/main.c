#include <stdio.h>
#include "gad/gad.h"
int main(void) { printf("gad %s\n", gad_version()); return 0; }
