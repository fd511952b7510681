/* The library's version, from project(VERSION) in CMakeLists.txt. */
#include "ck/version.h"

const char *ck_version(void) { return CK_VERSION_STRING; }
